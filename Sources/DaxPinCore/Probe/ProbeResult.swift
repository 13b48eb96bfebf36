import SystemPackage

/// The memory behind one probe and how the probe confirmed it is what it claims.
public struct MemoryDescription: Codable, Sendable, Equatable {
  public var kind: MemoryKind
  /// `MAP_SHARED` or `MAP_PRIVATE`.
  public var mapping: String
  public var size: Int
  /// The file or device mapped; omitted for anonymous memory.
  public var path: String?
  /// The independent check (`statx STATX_ATTR_DAX`, `S_ISCHR`, `statfs TMPFS_MAGIC`, `smaps VmFlags ht`).
  public var confirmedBy: String?
  /// How the pages were faulted in before the pin: `read` or `write`.
  public var faulted: String?

  public init(kind: MemoryKind, size: Int, path: String? = nil, confirmedBy: String? = nil, faulted: String? = nil) {
    self.kind = kind
    self.mapping = kind.isShared ? "MAP_SHARED" : "MAP_PRIVATE"
    self.size = size
    self.path = path
    self.confirmedBy = confirmedBy
    self.faulted = faulted
  }
  enum CodingKeys: String, CodingKey {
    case kind, mapping, size, path, faulted
    case confirmedBy = "confirmed_by"
  }
}

/// One cell of the probe matrix: what was asked, what the kernel did, what it should have done.
/// The id, the errno's name and `unsafe` are derived, never stored: they cannot disagree with
/// the interface, kind, access, errno and outcome they come from.
public struct ProbeResult: Codable, Sendable, Equatable {
  public var interface: Interface
  public var memory: MemoryDescription
  public var access: Access
  /// The request in the kernel's words (`VFIO_IOMMU_MAP_DMA iova=0x200000 size=0x200000 READ|WRITE`).
  public var request: String?
  public var outcome: Outcome
  public var errno: Int32?
  public var expectation: Expectation?
  public var verdict: Verdict
  /// Why the verdict is not pass: what was absent or contradicted.
  public var reason: String?
  /// What would change it.
  public var hint: String?
  /// VmPin / VmLck growth while pinned, in kB: evidence that pages were charged as pinned.
  public var pinnedKB: Int?
  /// The buffer's page frames before and after a successful pin (`/proc/self/pagemap`): pinned
  /// in place or after migration, and how many pages stayed in ZONE_MOVABLE.
  public var frames: FramePlacement?
  public var durationUs: Int?

  public init(
    interface: Interface, memory: MemoryDescription, access: Access, outcome: Outcome, errno: Int32? = nil,
    expectation: Expectation?, verdict: Verdict
  ) {
    self.interface = interface
    self.memory = memory
    self.access = access
    self.outcome = outcome
    self.errno = errno
    self.expectation = expectation
    self.verdict = verdict
  }

  public var probeID: ProbeID { ProbeID(interface, memory.kind, access) }
  /// `<interface>.<memory kind>.<access>`.
  public var id: String { probeID.description }
  /// The errno's symbolic name (`EOPNOTSUPP`).
  public var errnoName: String? { errno.map { Errno(rawValue: $0).name } }
  /// True only when an fsdax pin succeeded: the dax-dma-vs-truncate hazard.
  /// Also true when a truncate of a DAX file completed while a page of it was held
  /// (`truncate-held`): the filesystem may reuse the block under I/O.
  public var unsafe: Bool {
    (outcome == .pinned && memory.kind.pinsFilesystemDAXPages) || (outcome == .completed && memory.kind.isFilesystemDAX)
  }

  enum CodingKeys: String, CodingKey {
    case id, interface, memory, access, request, outcome, errno, expectation, verdict, unsafe, reason, hint, frames
    case errnoName = "errno_name"
    case pinnedKB = "pinned_kb"
    case durationUs = "duration_us"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    interface = try c.decode(Interface.self, forKey: .interface)
    memory = try c.decode(MemoryDescription.self, forKey: .memory)
    access = try c.decode(Access.self, forKey: .access)
    request = try c.decodeIfPresent(String.self, forKey: .request)
    outcome = try c.decode(Outcome.self, forKey: .outcome)
    errno = try c.decodeIfPresent(Int32.self, forKey: .errno)
    expectation = try c.decodeIfPresent(Expectation.self, forKey: .expectation)
    verdict = try c.decode(Verdict.self, forKey: .verdict)
    reason = try c.decodeIfPresent(String.self, forKey: .reason)
    hint = try c.decodeIfPresent(String.self, forKey: .hint)
    pinnedKB = try c.decodeIfPresent(Int.self, forKey: .pinnedKB)
    frames = try c.decodeIfPresent(FramePlacement.self, forKey: .frames)
    durationUs = try c.decodeIfPresent(Int.self, forKey: .durationUs)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(id, forKey: .id)
    try c.encode(interface, forKey: .interface)
    try c.encode(memory, forKey: .memory)
    try c.encode(access, forKey: .access)
    try c.encodeIfPresent(request, forKey: .request)
    try c.encode(outcome, forKey: .outcome)
    try c.encodeIfPresent(errno, forKey: .errno)
    try c.encodeIfPresent(errnoName, forKey: .errnoName)
    try c.encodeIfPresent(expectation, forKey: .expectation)
    try c.encode(verdict, forKey: .verdict)
    if unsafe { try c.encode(true, forKey: .unsafe) }
    try c.encodeIfPresent(reason, forKey: .reason)
    try c.encodeIfPresent(hint, forKey: .hint)
    try c.encodeIfPresent(pinnedKB, forKey: .pinnedKB)
    try c.encodeIfPresent(frames, forKey: .frames)
    try c.encodeIfPresent(durationUs, forKey: .durationUs)
  }
}

/// How an outcome compares with an expectation.
public enum Judge {
  public static func verdict(
    id: ProbeID, outcome: Outcome, errno: Int32?, expectation: Expectation
  ) -> (verdict: Verdict, unsafe: Bool, reason: String?) {
    switch outcome {
    case .onDemand:
      if expectation.outcome == .onDemand { return (.pass, false, nil) }
      return (.fail, false, "expected \(describe(expectation)) [\(expectation.origin)], observed a region registered on demand (no pin)")
    case .pinned, .refused:
      if id.kind.pinsFilesystemDAXPages && outcome == .pinned {
        return (
          .fail, true,
          "UNSAFE: the kernel pinned filesystem-DAX pages long-term; the filesystem may reuse those blocks under DMA (expected \(describe(expectation)))"
        )
      }
      if outcome == expectation.outcome && (outcome == .pinned || errno == expectation.errno) {
        return (.pass, false, nil)
      }
      if outcome == .pinned && expectation.outcome == .onDemand {
        return (.fail, false, "expected a region registered on demand [\(expectation.origin)], observed pinned pages (VmPin grew)")
      }
      let observed = outcome == .pinned ? "pinned" : "refused with \(errno.map { Errno(rawValue: $0).name } ?? "?")"
      return (.fail, false, "expected \(describe(expectation)) [\(expectation.origin)], observed \(observed)")
    case .waited, .completed:
      if outcome == .completed && id.kind.isFilesystemDAX {
        return (
          .fail, true,
          "UNSAFE: the truncate of a DAX file completed while a page of it was still referenced: the filesystem may reuse that block under I/O (expected \(describe(expectation)))"
        )
      }
      if outcome == expectation.outcome { return (.pass, false, nil) }
      return (.fail, false, "expected \(describe(expectation)) [\(expectation.origin)], observed \(outcome.rawValue)")
    case .notExercised, .unsupported, .resourceLimited:
      return (.skip, false, nil)
    case .setupFailed:
      return (.error, false, nil)
    }
  }

  static func describe(_ e: Expectation) -> String {
    switch e.outcome {
    case .pinned: "pinned"
    case .onDemand: "registered on demand (no pin)"
    case .waited: "the truncate waits for the reference"
    case .completed: "the truncate completes"
    default: "refused with \(e.errnoName ?? "?")"
    }
  }
}

