import DaxPinCore
import DaxPinLinux
import Glibc

/// The process entry: gives SIGQUIT back its default action (the Swift runtime takes it for crash
/// reports), takes fds 0-2 if they were closed (so no file lands on fd 1), and passes
/// the arguments as the kernel gave them, bytes that are not UTF-8 kept (`RawPath`), so a path
/// named on the command line reaches the kernel byte for byte.
@main
enum Entry {
  static func main() {
    Signals.restoreDefaults()
    StandardDescriptors.reserve()
    let argv = (1..<Int(CommandLine.argc)).map { i -> String in
      guard let arg = CommandLine.unsafeArgv[i] else { return "" }
      return arg.withMemoryRebound(to: UInt8.self, capacity: 1) { p in
        RawPath.string(fromBytes: UnsafeBufferPointer(start: p, count: strlen(arg)))
      }
    }
    Daxpin.main(argv)
  }
}
