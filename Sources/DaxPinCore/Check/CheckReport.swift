import SystemPackage

/// What `daxpin check` found: `schema: "daxpin/check"`. One entry per region and interface (a VM
/// whose devices use both the container and iommufd has its regions judged on each). Absent facts
/// are omitted, arrays are always arrays, keys are sorted by the one encoder (`ReportJSON`).
public struct CheckReport: Encodable, Sendable, Equatable {
  public static let schemaName = "daxpin/check"

  public var tool: Report.Tool
  public var backend: Backend
  public var host: Report.Host
  /// The kernel the predictions are for (`release`), as the inventory read it.
  public var kernel: String
  /// `qemu`, `libvirt`, `cloud-hypervisor`.
  public var source: VMMDialect
  public var name: String?
  public var devices: [CheckedDevice]
  /// Nothing is passed through: nothing is long-term pinned, and every entry is predicted as if
  /// a device were (through the VFIO container).
  public var hypothetical: Bool
  public var regions: [CheckedRegion]
  public var notes: [String]

  public init(
    toolVersion: String, backend: Backend, host: Report.Host, kernel: String, source: VMMDialect, name: String?, devices: [CheckedDevice],
    hypothetical: Bool, regions: [CheckedRegion], notes: [String]
  ) {
    tool = Report.Tool(name: "daxpin", version: toolVersion)
    self.backend = backend
    self.host = host
    self.kernel = kernel
    self.source = source
    self.name = name
    self.devices = devices
    self.hypothetical = hypothetical
    self.regions = regions
    self.notes = notes
  }

  public struct Summary: Encodable, Sendable, Equatable {
    public var pinned: Int, refused: Int, unknown: Int
    /// Probes that contradicted the rule table.
    public var contradicted: Int
    /// 0 every region will pin; 1 one will be refused, cannot be predicted, or a probe
    /// contradicted the rule table.
    public var exitCode: Int32 { refused + unknown + contradicted > 0 ? 1 : 0 }
    enum CodingKeys: String, CodingKey {
      case pinned, refused, unknown, contradicted
      case exitCode = "exit_code"
    }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(pinned, forKey: .pinned)
      try c.encode(refused, forKey: .refused)
      try c.encode(unknown, forKey: .unknown)
      try c.encode(contradicted, forKey: .contradicted)
      try c.encode(exitCode, forKey: .exitCode)
    }
  }

  /// Counted over the regions the VMM maps for DMA.
  public var summary: Summary {
    let mapped = regions.filter(\.dmaMapped)
    return Summary(
      pinned: mapped.filter { $0.prediction.outcome == .pinned }.count, refused: mapped.filter { $0.prediction.outcome == .refused }.count,
      unknown: mapped.filter { $0.prediction.outcome == .unknown }.count,
      contradicted: mapped.filter { $0.probe?.agrees == false }.count)
  }

  public var isSimulated: Bool { backend == .fake }

  enum CodingKeys: String, CodingKey {
    case schema, tool, backend, schemaVersion = "schema_version", simulated, host, kernel, source, name, devices, hypothetical, regions, notes, summary
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(Self.schemaName, forKey: .schema)
    try c.encode(Report.SchemaVersion(major: 1, minor: 0), forKey: .schemaVersion)
    try c.encode(tool, forKey: .tool)
    try c.encode(backend, forKey: .backend)
    if isSimulated { try c.encode(true, forKey: .simulated) }
    try c.encode(host, forKey: .host)
    try c.encode(["release": kernel], forKey: .kernel)
    try c.encode(source, forKey: .source)
    try c.encodeIfPresent(name, forKey: .name)
    try c.encode(devices, forKey: .devices)
    if hypothetical { try c.encode(true, forKey: .hypothetical) }
    try c.encode(regions, forKey: .regions)
    try c.encode(notes, forKey: .notes)
    try c.encode(summary, forKey: .summary)
  }
}

/// A device the configuration passes through, and what this host has at its address.
public struct CheckedDevice: Encodable, Sendable, Equatable {
  public var device: PassthroughDevice
  public var interface: Interface
  /// `IOMMU group 7, driver vfio-pci`, `in no IOMMU group here`; nil for mediated devices.
  public var onThisHost: String?

  enum CodingKeys: String, CodingKey {
    case address, path, mdev, interface
    case declaredBy = "declared_by"
    case onThisHost = "on_this_host"
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(device.address, forKey: .address)
    try c.encode(device.path, forKey: .path)
    if device.mdev { try c.encode(true, forKey: .mdev) }
    try c.encode(interface, forKey: .interface)
    try c.encode(device.declaredBy, forKey: .declaredBy)
    try c.encodeIfPresent(onThisHost, forKey: .onThisHost)
  }
}

/// One region judged for one interface.
public struct CheckedRegion: Encodable, Sendable, Equatable {
  public var region: MemoryRegion
  public var classification: RegionClassification
  public var interface: Interface
  public var prediction: PinPrediction
  /// The VMM maps it for DMA (false: cloud-hypervisor's `--pmem`; predicted all the same).
  public var dmaMapped: Bool { region.dmaMapped }
  /// Filled by `--probe`.
  public var probe: CheckProbe?

  public init(region: MemoryRegion, classification: RegionClassification, interface: Interface, prediction: PinPrediction, probe: CheckProbe? = nil) {
    self.region = region
    self.classification = classification
    self.interface = interface
    self.prediction = prediction
    self.probe = probe
  }

  enum CodingKeys: String, CodingKey {
    case id, role, path, size, kind, mapping, access, interface, prediction, errno, rule, basis, cause, fix, stage, evidence, examined,
      missing, notes, probe
    case declaredBy = "declared_by"
    case errnoName = "errno_name"
    case notDMAMapped = "not_dma_mapped"
    case readOnly = "readonly"
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(region.id, forKey: .id)
    try c.encode(region.role, forKey: .role)
    try c.encode(region.declaredBy, forKey: .declaredBy)
    try c.encodeIfPresent(region.path, forKey: .path)
    try c.encode(region.size, forKey: .size)
    try c.encodeIfPresent(classification.kind, forKey: .kind)
    try c.encode(region.shared ? "MAP_SHARED" : "MAP_PRIVATE", forKey: .mapping)
    if region.readOnly { try c.encode(true, forKey: .readOnly) }
    try c.encode(region.access, forKey: .access)
    try c.encode(interface, forKey: .interface)
    if !region.dmaMapped { try c.encode(true, forKey: .notDMAMapped) }
    try c.encode(prediction.outcome, forKey: .prediction)
    try c.encodeIfPresent(prediction.errno?.rawValue, forKey: .errno)
    try c.encodeIfPresent(prediction.errno?.name, forKey: .errnoName)
    try c.encode(prediction.rule, forKey: .rule)
    try c.encode(prediction.basis, forKey: .basis)
    try c.encodeIfPresent(prediction.cause, forKey: .cause)
    try c.encodeIfPresent(prediction.fix, forKey: .fix)
    try c.encodeIfPresent(prediction.stage, forKey: .stage)
    try c.encode(classification.evidence, forKey: .evidence)
    try c.encodeIfPresent(classification.examined, forKey: .examined)
    try c.encodeIfPresent(classification.missing, forKey: .missing)
    try c.encode(region.notes + classification.notes, forKey: .notes)
    try c.encodeIfPresent(probe, forKey: .probe)
  }
}

/// What `--probe` did for one entry: the real probe, through `ProbeRun`, on this host.
public struct CheckProbe: Encodable, Sendable, Equatable {
  /// The interface probed (the VM's, or io_uring where the host has no device for it); nil when
  /// nothing was probed.
  public var interface: Interface?
  public var outcome: Outcome?
  public var errno: Int32?
  /// The rule table's expectation for what was probed.
  public var expected: Expectation?
  /// The answer equals `expected`; nil when nothing was probed.
  public var agrees: Bool?
  /// The answer stands for the VM's own interface and equals the prediction.
  public var confirms: Bool
  /// The sentence for people.
  public var note: String

  public init(interface: Interface? = nil, outcome: Outcome? = nil, errno: Int32? = nil, expected: Expectation? = nil, agrees: Bool? = nil, confirms: Bool = false, note: String) {
    self.interface = interface
    self.outcome = outcome
    self.errno = errno
    self.expected = expected
    self.agrees = agrees
    self.confirms = confirms
    self.note = note
  }

  enum CodingKeys: String, CodingKey {
    case interface, outcome, errno, expected, agrees, confirms, note
    case errnoName = "errno_name"
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encodeIfPresent(interface, forKey: .interface)
    try c.encodeIfPresent(outcome, forKey: .outcome)
    try c.encodeIfPresent(errno, forKey: .errno)
    try c.encodeIfPresent(errno.map { Errno(rawValue: $0).name }, forKey: .errnoName)
    try c.encodeIfPresent(expected, forKey: .expected)
    try c.encodeIfPresent(agrees, forKey: .agrees)
    try c.encode(confirms, forKey: .confirms)
    try c.encode(note, forKey: .note)
  }
}
