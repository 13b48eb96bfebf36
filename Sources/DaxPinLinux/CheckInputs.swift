import CVFIO
import DaxPinCore
import Glibc
import SystemPackage

/// What `daxpin check` reads from files and /proc, read here so the CLI makes no calls of its
/// own: configuration files and standard input (through `BoundedRead`), a running VMM's command
/// line and locked-memory budget, libvirt's qemu.conf.
public enum CheckInputs {
  /// Standard output is a terminal (colour the verdicts).
  public static var standardOutputIsTerminal: Bool { isatty(1) == 1 }

  /// The most bytes read from one configuration: domain XML is a few KB.
  public static let byteLimit = 16 << 20

  /// Every byte of `path` (`-`: standard input), or one line naming the errno.
  public static func read(_ path: String) -> Result<[UInt8], CheckProblem> {
    let shown = path == BoundedRead.standardInput ? "standard input" : RawPath.display(path).withVisibleControls
    switch BoundedRead.read(path, limit: byteLimit) {
    case .success(let b): return .success(b)
    case .failure(.errno(let e)): return .failure(.failed("\(shown): \(e.name)"))
    case .failure(.tooLarge(let limit)): return .failure(.failed("\(shown): larger than \(limit >> 20) MiB, not a VM configuration"))
    }
  }

  /// `/proc/PID/cmdline` split at its NUL bytes; bytes that are not UTF-8 are kept (`RawPath`),
  /// so a path reaches the classifier as QEMU was given it.
  public static func commandLine(pid: Int32) -> Result<[String], CheckProblem> {
    switch BoundedRead.read("/proc/\(pid)/cmdline", limit: 4 << 20) {
    case .failure(.errno(let e)) where e == .noSuchFileOrDirectory || e == .noSuchProcess:
      return .failure(.failed("--pid \(pid): no such process (\(e.name))"))
    case .failure(.errno(let e)): return .failure(.failed("--pid \(pid): /proc/\(pid)/cmdline: \(e.name)"))
    case .failure(.tooLarge): return .failure(.failed("--pid \(pid): /proc/\(pid)/cmdline is larger than 4 MiB"))
    case .success(let bytes):
      guard !bytes.isEmpty else { return .failure(.failed("--pid \(pid): empty command line (a kernel thread, or a process that has exited)")) }
      var words = bytes.split(separator: 0, omittingEmptySubsequences: false).map { RawPath.string(fromBytes: $0) }
      if bytes.last == 0 { words.removeLast() }
      // Another process's command line read as QEMU's would be judged with confidence: libvirtd's
      // pid given for its guest's, or a mistyped one.
      let program = linkText("/proc/\(pid)/exe")
      guard isQEMU(program) || isQEMU(words.first ?? "") else {
        let shown = (program.isEmpty ? words.first ?? "" : program).capped(toBytes: 200).withVisibleControls
        return .failure(.failed("--pid \(pid) is not QEMU: its program is \(shown) (give the guest's QEMU process: pidof qemu-system-x86_64)"))
      }
      return .success(words)
    }
  }

  /// The text of a symbolic link, through the wrappers `OutputPath` uses (an O_PATH|O_NOFOLLOW
  /// descriptor of the link, readlinkat(2) of it); empty when it cannot be read.
  static func linkText(_ path: String) -> String {
    guard case .success(let link) = system_openat(AT_FDCWD, path, CVFIO_O_PATH | CVFIO_O_NOFOLLOW | O_CLOEXEC) else { return "" }
    defer { system_close(link) }
    return (try? system_readlink(link).get()) ?? ""
  }

  /// A QEMU program by its file name: qemu-system-*, qemu-kvm, or Debian's `kvm`.
  static func isQEMU(_ path: String) -> Bool {
    let name = path.split(separator: "/").last.map(String.init) ?? ""
    return name.hasPrefix("qemu-system-") || name.hasPrefix("qemu-kvm") || name == "kvm"
  }

  /// CAP_IPC_LOCK and RLIMIT_MEMLOCK of process `pid`; nil when /proc does not say.
  public static func limits(pid: Int32) -> ProcessLimits? {
    guard case .success(let status) = BoundedRead.read("/proc/\(pid)/status", limit: 1 << 20),
      case .success(let limits) = BoundedRead.read("/proc/\(pid)/limits", limit: 1 << 20)
    else { return nil }
    return ProcessLimits.parse(status: String(decoding: status, as: UTF8.self), limits: String(decoding: limits, as: UTF8.self))
  }

  /// libvirt's paths from qemu.conf; its defaults when the file is absent. A file that exists
  /// but cannot be read gives the defaults and a note saying so.
  public static func libvirtPaths(conf: String = LibvirtQEMUConf.path) -> (LibvirtDomainReader.Paths, note: String?) {
    switch BoundedRead.read(conf, limit: 1 << 20) {
    case .success(let bytes): return (LibvirtQEMUConf.paths(in: String(decoding: bytes, as: UTF8.self)), nil)
    // The default path absent is a host without libvirt's daemon config; a path the user named
    // and mistyped is said.
    case .failure(.errno(let e)) where e == .noSuchFileOrDirectory:
      return (LibvirtDomainReader.Paths(), conf == LibvirtQEMUConf.path ? nil : "\(conf): ENOENT: libvirt's default paths assumed")
    case .failure(.errno(let e)): return (LibvirtDomainReader.Paths(), "\(conf): \(e.name): libvirt's default paths assumed")
    case .failure(.tooLarge): return (LibvirtDomainReader.Paths(), "\(conf) is larger than 1 MiB: libvirt's default paths assumed")
    }
  }
}
