import SystemPackage

/// Nanosecond figures over the timed rounds of one cell.
public struct BenchStats: Codable, Sendable, Equatable {
  public var median: UInt64
  /// Nearest-rank 99th percentile.
  public var p99: UInt64
  public var min: UInt64
  public var max: UInt64

  /// nil for no samples.
  public init?(_ samples: [UInt64]) {
    guard !samples.isEmpty else { return nil }
    let s = samples.sorted()
    median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] / 2 + s[s.count / 2] / 2 + (s[s.count / 2 - 1] % 2 + s[s.count / 2] % 2) / 2)
    let rank = (99 * s.count + 99) / 100  // ceil(0.99 n)
    p99 = s[Swift.max(rank, 1) - 1]
    min = s.first!
    max = s.last!
  }
}

/// How a bench cell ended.
public enum BenchStatus: String, Codable, Sendable {
  /// Every round pinned and unpinned every byte and the accounting came back.
  case measured
  /// The kernel refused the first pin with an errno of its rules (io_uring before 6.5 refuses
  /// device-DAX with EOPNOTSUPP): its answer, with nothing to time. `daxpin probe` judges it.
  case refused
  /// The interface or memory is absent here, resource-limited, or pins nothing (no IOMMU domain).
  case skipped
  /// The kernel refused the pin, or undoing it went wrong: the errno and the reason say which.
  case failed
}

/// One interface × memory cell of `daxpin bench`: the buffer, what it took, and the books.
public struct BenchResult: Codable, Sendable, Equatable {
  public var interface: Interface
  public var memory: BenchMemory
  public var status: BenchStatus
  /// `--size` as asked, and the bytes pinned per round after the reductions (each said).
  public var requestedBytes: Int
  public var bytes: Int?
  public var reductions: [String]
  /// The pin request in the kernel's words.
  public var request: String?
  /// Timed rounds completed (each one pin and one unpin).
  public var iterations: Int
  /// Each pin call (`VFIO_IOMMU_MAP_DMA`, `IOMMU_IOAS_MAP`, `IORING_REGISTER_BUFFERS`), ns.
  public var pinNs: BenchStats?
  /// Each unpin call, ns.
  public var unpinNs: BenchStats?
  /// bytes × rounds / (the time of every pin and unpin call), in GiB/s.
  public var gibPerSecond: Double?
  /// bytes / the median pin, GiB/s: the rate a VMM mapping guest RAM at start sees.
  public var pinGiBPerSecond: Double?
  /// `VmPin + VmLck` growth while one pin is held (the untimed first round), kB.
  public var pinnedKB: Int?
  /// Bytes the kernel pinned, and said it unpinned, over every round (the untimed one included).
  public var pinnedBytes: UInt64
  public var unpinnedBytes: UInt64
  /// `VmPin + VmLck` after the cell minus before it, kB: 0 when everything was released.
  public var leftPinnedKB: Int?
  /// THP and 4 KiB anonymous memory: `AnonHugePages` of the buffer, kB, and its share of it.
  public var anonHugePagesKB: Int?
  public var hugePageShare: Double?
  public var confirmedBy: String?
  public var errno: Int32?
  public var reason: String?
  public var hint: String?

  public var errnoName: String? { errno.map { Errno(rawValue: $0).name } }

  init(interface: Interface, memory: BenchMemory, status: BenchStatus, requestedBytes: Int) {
    self.interface = interface
    self.memory = memory
    self.status = status
    self.requestedBytes = requestedBytes
    reductions = []
    iterations = 0
    pinnedBytes = 0
    unpinnedBytes = 0
  }

  enum CodingKeys: String, CodingKey {
    case interface, memory, status, bytes, reductions, request, iterations, errno, reason, hint
    case requestedBytes = "requested_bytes"
    case pinNs = "pin_ns"
    case unpinNs = "unpin_ns"
    case gibPerSecond = "gib_per_s"
    case pinGiBPerSecond = "pin_gib_per_s"
    case pinnedKB = "pinned_kb"
    case pinnedBytes = "pinned_bytes"
    case unpinnedBytes = "unpinned_bytes"
    case leftPinnedKB = "left_pinned_kb"
    case anonHugePagesKB = "anon_huge_pages_kb"
    case hugePageShare = "huge_page_share"
    case confirmedBy = "confirmed_by"
    case errnoName = "errno_name"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    interface = try c.decode(Interface.self, forKey: .interface)
    memory = try c.decode(BenchMemory.self, forKey: .memory)
    status = try c.decode(BenchStatus.self, forKey: .status)
    requestedBytes = try c.decode(Int.self, forKey: .requestedBytes)
    bytes = try c.decodeIfPresent(Int.self, forKey: .bytes)
    reductions = try c.decode([String].self, forKey: .reductions)
    request = try c.decodeIfPresent(String.self, forKey: .request)
    iterations = try c.decode(Int.self, forKey: .iterations)
    pinNs = try c.decodeIfPresent(BenchStats.self, forKey: .pinNs)
    unpinNs = try c.decodeIfPresent(BenchStats.self, forKey: .unpinNs)
    gibPerSecond = try c.decodeIfPresent(Double.self, forKey: .gibPerSecond)
    pinGiBPerSecond = try c.decodeIfPresent(Double.self, forKey: .pinGiBPerSecond)
    pinnedKB = try c.decodeIfPresent(Int.self, forKey: .pinnedKB)
    pinnedBytes = try c.decode(UInt64.self, forKey: .pinnedBytes)
    unpinnedBytes = try c.decode(UInt64.self, forKey: .unpinnedBytes)
    leftPinnedKB = try c.decodeIfPresent(Int.self, forKey: .leftPinnedKB)
    anonHugePagesKB = try c.decodeIfPresent(Int.self, forKey: .anonHugePagesKB)
    hugePageShare = try c.decodeIfPresent(Double.self, forKey: .hugePageShare)
    confirmedBy = try c.decodeIfPresent(String.self, forKey: .confirmedBy)
    errno = try c.decodeIfPresent(Int32.self, forKey: .errno)
    reason = try c.decodeIfPresent(String.self, forKey: .reason)
    hint = try c.decodeIfPresent(String.self, forKey: .hint)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(interface, forKey: .interface)
    try c.encode(memory, forKey: .memory)
    try c.encode(status, forKey: .status)
    try c.encode(requestedBytes, forKey: .requestedBytes)
    try c.encodeIfPresent(bytes, forKey: .bytes)
    try c.encode(reductions, forKey: .reductions)
    try c.encodeIfPresent(request, forKey: .request)
    try c.encode(iterations, forKey: .iterations)
    try c.encodeIfPresent(pinNs, forKey: .pinNs)
    try c.encodeIfPresent(unpinNs, forKey: .unpinNs)
    try c.encodeIfPresent(gibPerSecond, forKey: .gibPerSecond)
    try c.encodeIfPresent(pinGiBPerSecond, forKey: .pinGiBPerSecond)
    try c.encodeIfPresent(pinnedKB, forKey: .pinnedKB)
    try c.encode(pinnedBytes, forKey: .pinnedBytes)
    try c.encode(unpinnedBytes, forKey: .unpinnedBytes)
    try c.encodeIfPresent(leftPinnedKB, forKey: .leftPinnedKB)
    try c.encodeIfPresent(anonHugePagesKB, forKey: .anonHugePagesKB)
    try c.encodeIfPresent(hugePageShare, forKey: .hugePageShare)
    try c.encodeIfPresent(confirmedBy, forKey: .confirmedBy)
    try c.encodeIfPresent(errno, forKey: .errno)
    try c.encodeIfPresent(errnoName, forKey: .errnoName)
    try c.encodeIfPresent(reason, forKey: .reason)
    try c.encodeIfPresent(hint, forKey: .hint)
  }
}
