/// One run of `daxpin probe` on one host: `schema: "daxpin/report"` (docs/design.md, "Reports").
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
  /// Counts over the probes; the worst verdict and the exit code are derived from them.
  public struct Summary: Codable, Sendable, Equatable {
    public var pass: Int, fail: Int, skip: Int, error: Int
    /// fsdax pins that succeeded.
    public var unsafe: Int
    /// The worst verdict: fail > error > pass > skip.
    public var verdict: Verdict {
      fail > 0 ? .fail : error > 0 ? .error : pass > 0 ? .pass : .skip
    }
    /// 0 all pass (skips allowed), 1 a fail, 2 the tool failed (an error cell), 4 nothing could
    /// be exercised.
    public var exitCode: Int32 { fail > 0 ? 1 : error > 0 ? 2 : pass == 0 ? 4 : 0 }
    enum CodingKeys: String, CodingKey {
      case pass, fail, skip, error, unsafe, verdict
      case exitCode = "exit_code"
    }
    public init(pass: Int, fail: Int, skip: Int, error: Int, unsafe: Int) {
      (self.pass, self.fail, self.skip, self.error, self.unsafe) = (pass, fail, skip, error, unsafe)
    }
    public init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      self.init(
        pass: try c.decode(Int.self, forKey: .pass), fail: try c.decode(Int.self, forKey: .fail), skip: try c.decode(Int.self, forKey: .skip),
        error: try c.decode(Int.self, forKey: .error), unsafe: try c.decode(Int.self, forKey: .unsafe))
    }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(pass, forKey: .pass)
      try c.encode(fail, forKey: .fail)
      try c.encode(skip, forKey: .skip)
      try c.encode(error, forKey: .error)
      try c.encode(unsafe, forKey: .unsafe)
      try c.encode(verdict, forKey: .verdict)
      try c.encode(exitCode, forKey: .exitCode)
    }
  }

  public static let schemaName = "daxpin/report"
  public static let currentVersion = SchemaVersion(major: 1, minor: 1)

  public var schema: String
  public var schemaVersion: SchemaVersion
  public var tool: Tool
  /// `linux` (real syscalls) or `fake` (simulated kernel).
  public var backend: Backend
  /// As read from a saved report: `simulated: true` there. Written for fake-backend reports.
  var simulatedField: Bool?
  public var host: Host
  public var kernel: KernelInfo
  public var inventory: Inventory
  public var probes: [ProbeResult]
  public var summary: Summary
  /// How the kernel lab booted this kernel; omitted outside the lab.
  public var lab: LabInfo?

  public init(toolVersion: String, backend: Backend, host: Host, inventory: Inventory, probes: [ProbeResult]) {
    schema = Self.schemaName
    schemaVersion = Self.currentVersion
    tool = Tool(name: "daxpin", version: toolVersion)
    self.backend = backend
    self.host = host
    kernel = inventory.kernel
    self.inventory = inventory
    self.probes = probes
    summary = Self.summarize(probes)
  }

  /// Counts and the exit code of docs/design.md: 0 all pass (skips allowed), 1 a fail, 2 the tool
  /// failed, 4 nothing could be exercised.
  public static func summarize(_ probes: [ProbeResult]) -> Summary {
    func count(_ v: Verdict) -> Int { probes.filter { $0.verdict == v }.count }
    return Summary(
      pass: count(.pass), fail: count(.fail), skip: count(.skip), error: count(.error), unsafe: probes.filter(\.unsafe).count)
  }

  enum CodingKeys: String, CodingKey {
    case schema, tool, backend, simulated, host, kernel, inventory, probes, summary, lab
    case schemaVersion = "schema_version"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    schema = try c.decode(String.self, forKey: .schema)
    schemaVersion = try c.decode(SchemaVersion.self, forKey: .schemaVersion)
    tool = try c.decode(Tool.self, forKey: .tool)
    backend = try c.decode(Backend.self, forKey: .backend)
    simulatedField = try c.decodeIfPresent(Bool.self, forKey: .simulated)
    host = try c.decode(Host.self, forKey: .host)
    kernel = try c.decode(KernelInfo.self, forKey: .kernel)
    inventory = try c.decode(Inventory.self, forKey: .inventory)
    probes = try c.decode([ProbeResult].self, forKey: .probes)
    summary = try c.decode(Summary.self, forKey: .summary)
    lab = try c.decodeIfPresent(LabInfo.self, forKey: .lab)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(schema, forKey: .schema)
    try c.encode(schemaVersion, forKey: .schemaVersion)
    try c.encode(tool, forKey: .tool)
    try c.encode(backend, forKey: .backend)
    if isSimulated { try c.encode(true, forKey: .simulated) }
    try c.encode(host, forKey: .host)
    try c.encode(kernel, forKey: .kernel)
    try c.encode(inventory, forKey: .inventory)
    try c.encode(probes, forKey: .probes)
    try c.encode(summary, forKey: .summary)
    try c.encodeIfPresent(lab, forKey: .lab)
  }
}

/// Where a lab report came from: the kernel asked for, the pmem emulation, the accelerator.
public struct LabInfo: Codable, Sendable, Equatable {
  /// `debian-6.1`, `source-7.3`, `custom-bzImage`.
  public var kernel: String
  /// The Debian package version, when the kernel came from Debian.
  public var packageVersion: String?
  /// The lab's `PmemMode`: `memmap`, `nvdimm`, `virtio-pmem` or `cxl`.
  public var pmem: String
  /// `kvm` or `tcg`, and why.
  public var accel: String
  public var accelReason: String
  public var bootSeconds: Double?
  public var probeSeconds: Double?
  public var totalSeconds: Double?
  public var initramfsBytes: Int?
  /// How QEMU entered the kernel: `pvh` (the vmlinux inside the bzImage, through its PVH entry
  /// point) or `bzimage` (the bzImage and its decompressor).
  public var boot: String?
  /// `daxpin lab --timings`: where the run's seconds went, in order (host and guest steps).
  public var timings: [LabTiming]?
  /// `daxpin lab --timings`: the kernel's preparation (fetch or cache, module closure, base
  /// initramfs, vmlinux), shared by its runs and not part of `total_seconds`.
  public var prepareSeconds: Double?
  /// `daxpin lab --timings`: whether the base initramfs came from the cache.
  public var initramfsCached: Bool?
  /// `daxpin lab --timings`: the CPU seconds QEMU used (under TCG, the guest's own work).
  public var qemuCPUSeconds: Double?

  public init(
    kernel: String, packageVersion: String?, pmem: String, accel: String, accelReason: String, bootSeconds: Double? = nil,
    probeSeconds: Double? = nil, totalSeconds: Double? = nil, initramfsBytes: Int? = nil, boot: String? = nil,
    timings: [LabTiming]? = nil, prepareSeconds: Double? = nil, initramfsCached: Bool? = nil
  ) {
    self.boot = boot
    self.timings = timings
    self.prepareSeconds = prepareSeconds
    self.initramfsCached = initramfsCached
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
    case boot, timings
    case prepareSeconds = "prepare_seconds"
    case initramfsCached = "initramfs_cached"
    case qemuCPUSeconds = "qemu_cpu_seconds"
  }
}

/// One step of a lab run and its seconds (`daxpin lab --timings`).
public struct LabTiming: Codable, Sendable, Equatable {
  public var step: String
  public var seconds: Double
  public init(step: String, seconds: Double) {
    self.step = step
    self.seconds = seconds
  }
}
