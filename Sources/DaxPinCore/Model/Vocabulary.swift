/// What backs a probe buffer. Spellings are the report's and the CLI's (docs/design.md, "Vocabulary").
public enum MemoryKind: String, CaseIterable, Codable, Sendable, Comparable {
  /// `mmap(MAP_PRIVATE|MAP_ANONYMOUS)`, written before the pin.
  case anon
  /// `mmap(MAP_ANONYMOUS|MAP_HUGETLB)` from the 2 MiB hugetlb pool.
  case hugetlb2m = "hugetlb-2m"
  /// A `memfd_create` file (shmem), mapped `MAP_SHARED`.
  case memfd
  /// A file on a tmpfs mount, mapped `MAP_SHARED`.
  case tmpfsShared = "tmpfs-shared"
  /// A file on a disk-backed filesystem without DAX (ext4, xfs, btrfs), `MAP_SHARED`.
  case pagecacheShared = "pagecache-shared"
  /// The same file mapped `MAP_PRIVATE`, read-faulted: the pin sees the file's page-cache pages.
  case pagecachePrivate = "pagecache-private"
  /// A file on an ext4 mount that statx reports as DAX, `MAP_SHARED`.
  case fsdaxExt4Shared = "fsdax-ext4-shared"
  /// The same, `MAP_PRIVATE` and read-faulted: the pin sees the pmem pages themselves.
  case fsdaxExt4Private = "fsdax-ext4-private"
  /// `MAP_PRIVATE` and written before the pin: the pin sees anonymous copies in a DAX VMA.
  case fsdaxExt4PrivateCow = "fsdax-ext4-private-cow"
  case fsdaxXfsShared = "fsdax-xfs-shared"
  case fsdaxXfsPrivate = "fsdax-xfs-private"
  case fsdaxXfsPrivateCow = "fsdax-xfs-private-cow"
  /// `/dev/daxX.Y` mapped `MAP_SHARED` at the device's align.
  case devdax
  /// Anonymous memory bound (`mbind(MPOL_BIND)`) to a NUMA node made of device-DAX memory onlined
  /// as System RAM in `ZONE_MOVABLE` (`daxctl reconfigure-device --mode=system-ram`): a long-term
  /// pin must migrate it out of the movable zone first. Confirmed by its page frames.
  case devdaxKmem = "devdax-kmem"

  public static func < (a: Self, b: Self) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }

  /// The filesystem of an fsdax kind, nil for every other kind.
  public var fsdaxFilesystem: String? {
    switch self {
    case .fsdaxExt4Shared, .fsdaxExt4Private, .fsdaxExt4PrivateCow: "ext4"
    case .fsdaxXfsShared, .fsdaxXfsPrivate, .fsdaxXfsPrivateCow: "xfs"
    default: nil
    }
  }
  /// True for the kinds whose pinned pages would be filesystem-DAX pages (the UNSAFE ones).
  public var pinsFilesystemDAXPages: Bool { fsdaxFilesystem != nil && !isCopyOnWrite }
  public var isFilesystemDAX: Bool { fsdaxFilesystem != nil }
  public var isCopyOnWrite: Bool { self == .fsdaxExt4PrivateCow || self == .fsdaxXfsPrivateCow }
  /// `MAP_SHARED` (true) or `MAP_PRIVATE` (false).
  public var isShared: Bool {
    switch self {
    case .anon, .hugetlb2m, .devdaxKmem, .pagecachePrivate, .fsdaxExt4Private, .fsdaxExt4PrivateCow,
      .fsdaxXfsPrivate, .fsdaxXfsPrivateCow:
      false
    default: true
    }
  }
  /// How the probe faults the buffer in before the pin: by writing, except a MAP_PRIVATE file
  /// mapping (a write would replace the file's page with an anonymous copy; the -cow kinds are
  /// written on purpose) and device-DAX (a user's device: mapped, never written).
  public var faultsByWriting: Bool {
    self != .devdax && (isShared || !isFileBacked || isCopyOnWrite)
  }
  /// Backed by a file (a `vm_file` in the VMA), hugetlb and memfd included.
  public var isFileBacked: Bool { self != .anon && self != .hugetlb2m && self != .devdaxKmem }
}

/// `rw`: the pin asks for write access (FOLL_WRITE). `ro`: the buffer is mapped read-only and
/// the pin asks for read access only where the interface allows it.
public enum Access: String, CaseIterable, Codable, Sendable, Comparable {
  case rw, ro
  public static func < (a: Self, b: Self) -> Bool { a == .rw && b == .ro }
}

/// The path that takes the long-term pin.
public enum Interface: String, CaseIterable, Codable, Sendable, Comparable {
  /// Container `/dev/vfio/vfio` + group, `VFIO_TYPE1_IOMMU`, `VFIO_IOMMU_MAP_DMA`.
  case vfioType1 = "vfio-type1"
  /// The same with `VFIO_TYPE1v2_IOMMU`.
  case vfioType1v2 = "vfio-type1v2"
  /// `/dev/iommu` opened and used as a VFIO type1v2 container (IOMMUFD_VFIO_CONTAINER).
  case iommufdCompat = "iommufd-compat"
  /// `/dev/iommu` + vfio cdev: IOAS_ALLOC, BIND_IOMMUFD, ATTACH_IOMMUFD_PT, `IOMMU_IOAS_MAP`.
  case iommufd
  /// The same with `IOMMU_IOAS_MAP_FILE` (a file descriptor and offset instead of a VA, 6.13+).
  case iommufdFile = "iommufd-file"
  /// `IORING_REGISTER_BUFFERS` on an io_uring instance: needs no device.
  case ioUring = "io_uring"
  /// `ibv_reg_mr` on the first RDMA device (libibverbs, `ib_umem_get`): a pinned memory region.
  case rdma
  /// `ibv_reg_mr` with `IBV_ACCESS_ON_DEMAND` (`ib_umem_odp_get`): no pin, MMU-notifier paging.
  case rdmaODP = "rdma-odp"
  /// `setsockopt(SOL_XDP, XDP_UMEM_REG)` on an `AF_XDP` socket (`xdp_umem_pin_pages`): no NIC needed.
  case afXDP = "af_xdp"
  /// Not a pin interface: the truncate-under-a-held-page safety probe. A shared file mapping's
  /// first pages are held by `vmsplice(2)` into a pipe nobody reads, another thread calls
  /// `ftruncate(2)`, and the probe sees whether the truncate waits until the pipe is drained.
  case truncateHeld = "truncate-held"

  public static func < (a: Self, b: Self) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// What the kernel did with one pin request.
public enum Outcome: String, Codable, Sendable, CaseIterable {
  case pinned
  case refused
  /// The call succeeded but nothing was pinned (no IOMMU domain, noiommu, mdev-only).
  case notExercised = "not-exercised"
  /// ENOMEM from memlock accounting, ENOSPC from dma_entry_limit, an empty hugetlb pool.
  case resourceLimited = "resource-limited"
  /// The memory kind could not be established.
  case setupFailed = "setup-failed"
  /// The interface or the memory is absent on this host.
  case unsupported
  /// The registration succeeded without a long-term pin: an on-demand-paging (ODP) memory region,
  /// whose pages the device faults in and the kernel invalidates through MMU notifiers.
  case onDemand = "on-demand"
  /// `truncate-held`: the truncate had not returned while the page was held, and returned once
  /// the reference was dropped (the safe answer on fsdax: `dax_layout_busy_page`).
  case waited
  /// `truncate-held`: the truncate returned while the page was still held (page cache: the
  /// file lets go of its page; fsdax: the block could be reused under I/O — UNSAFE).
  case completed
}

/// The outcome judged against the expectation.
public enum Verdict: String, Codable, Sendable, CaseIterable, Comparable {
  case pass, skip, fail, error
  /// Severity order for summaries: fail > error > pass > skip.
  var rank: Int {
    switch self {
    case .skip: 0
    case .pass: 1
    case .error: 2
    case .fail: 3
    }
  }
  public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// `<interface>.<memory kind>.<access>`, e.g. `vfio-type1v2.fsdax-ext4-shared.rw`.
public struct ProbeID: Hashable, Sendable, Comparable, CustomStringConvertible {
  public var interface: Interface
  public var kind: MemoryKind
  public var access: Access
  public init(_ interface: Interface, _ kind: MemoryKind, _ access: Access) {
    self.interface = interface
    self.kind = kind
    self.access = access
  }
  public var description: String { "\(interface.rawValue).\(kind.rawValue).\(access.rawValue)" }
  public static func < (a: Self, b: Self) -> Bool {
    (a.interface, a.kind, a.access) < (b.interface, b.kind, b.access)
  }
}
