/// The locked-memory budget of a running VMM process (`/proc/PID/status` CapEff,
/// `/proc/PID/limits` "Max locked memory"); known only for `daxpin check qemu --pid`.
public struct ProcessLimits: Sendable, Equatable {
  public var capIPCLock: Bool
  /// The soft RLIMIT_MEMLOCK in bytes; nil when unlimited.
  public var memlockBytes: UInt64?
  public init(capIPCLock: Bool, memlockBytes: UInt64?) {
    self.capIPCLock = capIPCLock
    self.memlockBytes = memlockBytes
  }

  /// Parses the two files; nil when either lacks its line.
  public static func parse(status: String, limits: String) -> ProcessLimits? {
    guard let capLine = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
      let caps = UInt64(capLine.dropFirst("CapEff:".count).trimmingCharacters(in: " \t"), radix: 16),
      let memLine = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max locked memory") })
    else { return nil }
    let fields = memLine.dropFirst("Max locked memory".count).split(separator: " ")
    guard let soft = fields.first else { return nil }
    let bytes: UInt64?
    if soft == "unlimited" {
      bytes = nil
    } else if let v = UInt64(soft) {
      bytes = v
    } else {
      return nil
    }
    return ProcessLimits(capIPCLock: caps & (1 << 14) != 0, memlockBytes: bytes)
  }
}
