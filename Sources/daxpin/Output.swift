import ArgumentParser
import FoundationEssentials
import Glibc

/// Options shared by every command that prints a document.
struct OutputOptions: ParsableArguments {
  @Flag(help: "Print JSON instead of text.")
  var json = false

  @Option(help: ArgumentHelp("Also write the JSON document to FILE (atomically: a temporary file, then rename).", valueName: "FILE"))
  var output: String?

  /// Writes `json` to --output, atomically, so a reader never sees half a report.
  func writeFile(_ json: String) throws {
    guard let output else { return }
    do {
      try Data(json.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
    } catch {
      throw Exit.toolFailure("cannot write \(output): \(error)")
    }
  }
}

/// A failure of the tool itself: one line on stderr, exit 2.
struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ message: String) { description = message }
}

enum Exit {
  /// Prints the message as one line and exits 2 (docs/design.md, "Reports": the tool failed).
  static func toolFailure(_ message: String) -> ExitCode {
    Stderr.line("daxpin: \(message)")
    return ExitCode(2)
  }
}

enum Stderr {
  /// One line on standard error (fd 2), unbuffered.
  static func line(_ s: String) {
    let bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
  }

  /// A status line on a terminal: replaces the line the cursor is on, cut to the terminal's
  /// width so it never wraps, no newline.
  static func status(_ s: String) {
    var size = winsize()
    let width = ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 10 ? Int(size.ws_col) - 1 : 99
    let bytes = Array(("\r\u{1B}[K" + String(s.prefix(width))).utf8)
    _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
  }
}
