/// Which kernel a lab run boots: a Debian release's kernel, one the user built, or one built
/// here from Debian's `linux-source-<version>` package.
public enum LabKernelSpec: Equatable, Sendable, CustomStringConvertible {
  case debian(DebianKernel)
  /// A bzImage, a directory holding `boot/vmlinuz-*` and `lib/modules/<release>`, or a kernel
  /// build tree (`arch/x86/boot/bzImage`).
  case path(String)
  /// `source:<version>`: built from linux-source-<version> with the lab configuration.
  case source(String)

  public init(parsing s: String) throws(LabError) {
    if let d = DebianKernel(rawValue: s) {
      self = .debian(d)
    } else if s.hasPrefix("source:") {
      let v = String(s.dropFirst("source:".count))
      guard !v.isEmpty else { throw LabError.usage("--kernel source:<version> needs a version, e.g. source:7.3") }
      self = .source(v)
    } else if s.hasPrefix("/") || s.hasPrefix(".") {
      self = .path(s)
    } else {
      throw LabError.usage(
        "unknown kernel \(s): use debian-5.10, debian-6.1, debian-6.12, debian-latest, source:<version>, or a path")
    }
  }

  /// A file-name-safe label: `debian-6.1`, `source-7.3`, `custom-bzImage`.
  public var label: String {
    switch self {
    case .debian(let d): d.rawValue
    case .source(let v): "source-\(v)"
    case .path(let p): "custom-" + (p.split(separator: "/").last.map(String.init) ?? "kernel")
    }
  }
  public var description: String { label }
}

/// The Debian kernels the lab knows, by the suite that ships them.
public enum DebianKernel: String, CaseIterable, Sendable {
  case v5_10 = "debian-5.10"
  case v6_1 = "debian-6.1"
  case v6_12 = "debian-6.12"
  case latest = "debian-latest"

  /// Suites to look in; the newest version among them wins.
  public var suites: [String] {
    switch self {
    case .v5_10: ["bullseye"]
    case .v6_1: ["bookworm"]
    case .v6_12: ["trixie"]
    case .latest: ["sid", "trixie-backports"]
    }
  }
  public static let allSuites = ["bullseye", "bookworm", "trixie", "sid", "trixie-backports"]
}

/// A lab failure that is not a kernel's answer: usage, a missing tool, a download that failed.
public enum LabError: Error, CustomStringConvertible, Equatable {
  case usage(String)
  case setup(String)
  /// The kernel cannot give its guest what was asked (a pmem mode it lacks the drivers for): not
  /// a failure of the lab.
  case notSupported(String)
  public var description: String {
    switch self {
    case .usage(let s), .setup(let s), .notSupported(let s): s
    }
  }
}
