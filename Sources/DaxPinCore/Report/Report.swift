/// One run of `daxpin probe` on one host: `schema: "daxpin/report"` (DESIGN.md, "Reports").
public struct Report: Codable, Sendable, Equatable {
  public struct SchemaVersion: Codable, Sendable, Equatable {
    public var major: Int, minor: Int
  }
  public struct Tool: Codable, Sendable, Equatable {
    public var name: String, version: String
  }
  public struct Host: Codable, Sendable, Equatable {
    public var hostname: String?
    public var arch: String?
    public init(hostname: String?, arch: String?) {
      self.hostname = hostname
      self.arch = arch
    }
  }
  public struct Summary: Codable, Sendable, Equatable {
    public var pass: Int, fail: Int, skip: Int, error: Int
    /// fsdax pins that succeeded.
    public var unsafe: Int
    /// The worst verdict: fail > error > pass > skip.
    public var verdict: Verdict
    public var exitCode: Int32
    enum CodingKeys: String, CodingKey {
      case pass, fail, skip, error, unsafe, verdict
      case exitCode = "exit_code"
    }
  }

  public static let schemaName = "daxpin/report"
  public static let currentVersion = SchemaVersion(major: 1, minor: 0)

  public var schema: String
  public var schemaVersion: SchemaVersion
  public var tool: Tool
  /// `linux` (real syscalls) or `fake` (simulated kernel).
  public var backend: String
  /// Present (true) only for fake-backend reports, which never mix with real ones.
  public var simulated: Bool?
  public var host: Host
  public var kernel: KernelInfo
  public var inventory: Inventory
  public var probes: [ProbeResult]
  public var summary: Summary
  /// How the kernel lab booted this kernel; omitted outside the lab.
  public var lab: LabInfo?

  public init(
    toolVersion: String, backend: String, simulated: Bool = false, host: Host, inventory: Inventory,
    probes: [ProbeResult]
  ) {
    schema = Self.schemaName
    schemaVersion = Self.currentVersion
    tool = Tool(name: "daxpin", version: toolVersion)
    self.backend = backend
    self.simulated = simulated ? true : nil
    self.host = host
    kernel = inventory.kernel
    self.inventory = inventory
    self.probes = probes
    summary = Self.summarize(probes)
  }

  /// Counts and the exit code of DESIGN.md: 0 all pass (skips allowed), 1 a fail, 2 the tool
  /// failed, 4 nothing could be exercised.
  public static func summarize(_ probes: [ProbeResult]) -> Summary {
    func count(_ v: Verdict) -> Int { probes.filter { $0.verdict == v }.count }
    let worst = probes.map(\.verdict).max() ?? .skip
    let exit: Int32 =
      count(.fail) > 0 ? 1 : count(.error) > 0 ? 2 : count(.pass) == 0 ? 4 : 0
    return Summary(
      pass: count(.pass), fail: count(.fail), skip: count(.skip), error: count(.error),
      unsafe: probes.filter { $0.unsafe == true }.count, verdict: worst, exitCode: exit)
  }

  enum CodingKeys: String, CodingKey {
    case schema, tool, backend, simulated, host, kernel, inventory, probes, summary, lab
    case schemaVersion = "schema_version"
  }
}

/// Where a lab report came from: the kernel asked for, the pmem emulation, the accelerator.
public struct LabInfo: Codable, Sendable, Equatable {
  /// `debian-6.1`, `source-7.3`, `custom-bzImage`.
  public var kernel: String
  /// The Debian package version, when the kernel came from Debian.
  public var packageVersion: String?
  /// `memmap` or `nvdimm`.
  public var pmem: String
  /// `kvm` or `tcg`, and why.
  public var accel: String
  public var accelReason: String
  public var bootSeconds: Double?
  public var probeSeconds: Double?
  public var totalSeconds: Double?
  public var initramfsBytes: Int?

  public init(
    kernel: String, packageVersion: String?, pmem: String, accel: String, accelReason: String, bootSeconds: Double? = nil,
    probeSeconds: Double? = nil, totalSeconds: Double? = nil, initramfsBytes: Int? = nil
  ) {
    self.kernel = kernel
    self.packageVersion = packageVersion
    self.pmem = pmem
    self.accel = accel
    self.accelReason = accelReason
    self.bootSeconds = bootSeconds
    self.probeSeconds = probeSeconds
    self.totalSeconds = totalSeconds
    self.initramfsBytes = initramfsBytes
  }
  enum CodingKeys: String, CodingKey {
    case kernel, pmem, accel
    case packageVersion = "package_version"
    case accelReason = "accel_reason"
    case bootSeconds = "boot_seconds"
    case probeSeconds = "probe_seconds"
    case totalSeconds = "total_seconds"
    case initramfsBytes = "initramfs_bytes"
  }
}
