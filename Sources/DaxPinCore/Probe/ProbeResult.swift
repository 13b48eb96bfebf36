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
public struct ProbeResult: Codable, Sendable, Equatable {
  public var id: String
  public var interface: Interface
  public var memory: MemoryDescription
  public var access: Access
  /// The request in the kernel's words (`VFIO_IOMMU_MAP_DMA iova=0x200000 size=0x200000 READ|WRITE`).
  public var request: String?
  public var outcome: Outcome
  public var errno: Int32?
  public var errnoName: String?
  public var expectation: Expectation?
  public var verdict: Verdict
  /// Present (true) only when an fsdax pin succeeded: the dax-dma-vs-truncate hazard.
  public var unsafe: Bool?
  /// Why the verdict is not pass: what was absent or contradicted.
  public var reason: String?
  /// What would change it.
  public var hint: String?
  /// VmPin / VmLck growth while pinned, in kB: evidence that pages were charged as pinned.
  public var pinnedKB: Int?
  public var durationUs: Int?

  public var probeID: ProbeID { ProbeID(interface, memory.kind, access) }

  enum CodingKeys: String, CodingKey {
    case id, interface, memory, access, request, outcome, errno, expectation, verdict, unsafe, reason, hint
    case errnoName = "errno_name"
    case pinnedKB = "pinned_kb"
    case durationUs = "duration_us"
  }
}

/// How an outcome compares with an expectation.
public enum Judge {
  public static func verdict(
    id: ProbeID, outcome: Outcome, errno: Int32?, expectation: Expectation
  ) -> (verdict: Verdict, unsafe: Bool, reason: String?) {
    switch outcome {
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
      let observed = outcome == .pinned ? "pinned" : "refused with \(errno.map { Errno(rawValue: $0).name } ?? "?")"
      return (.fail, false, "expected \(describe(expectation)) [\(expectation.origin)], observed \(observed)")
    case .notExercised, .unsupported, .resourceLimited:
      return (.skip, false, nil)
    case .setupFailed:
      return (.error, false, nil)
    }
  }

  static func describe(_ e: Expectation) -> String {
    e.outcome == .pinned ? "pinned" : "refused with \(e.errnoName ?? "?")"
  }
}

import SystemPackage
