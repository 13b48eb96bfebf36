import SystemPackage

/// The rule table: the first rule that applies to a probe on a kernel decides its expectation.
///
/// Each rule names its origin (the kernel change it comes from); the lab's real kernels are the
/// ground truth (docs/lab-matrix.md), and a rule that disagrees with them is changed here, with
/// the observation.
public enum Expectations {
  public static func expectation(for id: ProbeID, on features: KernelFeatures) -> Expectation {
    let rule = rules.first { $0.applies(id, features) }!
    switch rule.expect {
    case .refused: return .refused(rule.errno!, origin: rule.origin, basis: rule.basis)
    case .waited, .completed: return Expectation(outcome: rule.expect, errno: nil, errnoName: nil, origin: rule.origin, basis: rule.basis)
    case .onDemand: return .onDemand(origin: rule.origin, basis: rule.basis)
    default: return .pinned(origin: rule.origin, basis: rule.basis)
    }
  }

  /// Interfaces that pin with `pin_user_pages_fast` first, so anonymous pages already present in a
  /// VMA are pinned without `check_vma_flags` looking at the VMA (io_uring since 6.5 via
  /// io_pin_pages; iommufd's pfn_reader_user_pin for the current mm). VFIO type1 pins through
  /// `pin_user_pages_remote`, which always walks the VMA.
  static func pinsFastFirst(_ i: Interface, _ f: KernelFeatures) -> Bool {
    switch i {
    case .ioUring: f.atLeast(6, 5)
    case .iommufd, .iommufdCompat: true
    // ib_umem_get: pin_user_pages_fast(FOLL_LONGTERM) since 5.6 ("RDMA/umem: use pin_user_pages_fast").
    case .rdma: true
    default: false
    }
  }

  public static let rules: [ExpectationRule] = truncateRules + pinRules

  /// `truncate-held`: what a truncate does while a page of the file is referenced.
  static let truncateRules: [ExpectationRule] = [
    ExpectationRule(
      origin: "fsdax-break-layouts",
      basis: "a truncate of a DAX file first waits until no page of the range is referenced: dax_layout_busy_page() from ext4_break_layouts and xfs_break_dax_layouts (\"mm, fs, dax: handle layout changes to pinned dax mappings\", 4.18-4.19, 2018); the 2022 \"fsdax: wait on @page not @page->_refcount\" work keeps the wait",
      applies: { id, _ in id.interface == .truncateHeld && id.kind.isFilesystemDAX },
      expect: .waited),
    ExpectationRule(
      origin: "pagecache-truncate",
      basis: "truncate_inode_pages removes a page-cache page without waiting for other references: the pipe keeps a page the file no longer owns, and the block is not the page",
      applies: { id, _ in id.interface == .truncateHeld },
      expect: .completed),
  ]

  /// Where a long-term pin leaves pages that were in ZONE_MOVABLE (`devdax-kmem`): migrated out
  /// first. A pin that leaves them there is a fail on every kernel (hot-unplug of the range
  /// cannot finish), and this names the change that fixed it.
  public static let movablePlacement = (
    origin: "gup-longterm-movable",
    basis: "FOLL_LONGTERM migrates pages out of ZONE_MOVABLE before pinning them (\"mm/gup: migrate pinned pages out of movable zone\", d1e153fea2a8, 5.13, 2021; before it only CMA pages were migrated)"
  )

  /// Interfaces whose pin always asks for FOLL_WRITE, whatever the access: io_uring's fixed
  /// buffers and AF_XDP's UMEM (`xdp_umem_pin_pages`: FOLL_WRITE | FOLL_LONGTERM).
  static func alwaysPinsForWriting(_ i: Interface) -> Bool { i == .ioUring || i == .afXDP }

  /// Before 6.2 ("RDMA/umem: remove FOLL_FORCE usage") ib_umem_get pinned every region with
  /// FOLL_WRITE, adding FOLL_FORCE for a region without write access; from 6.2 a read-only region
  /// is pinned for reading only.
  static func rdmaPinsReadOnlyForWriting(_ f: KernelFeatures) -> Bool { !f.atLeast(6, 2) }

  static let pinRules: [ExpectationRule] = [
    ExpectationRule(
      origin: "ib-umem-odp",
      basis: "IBV_ACCESS_ON_DEMAND: ib_umem_odp_get takes no page reference; the device faults pages through hmm_range_fault and MMU notifiers invalidate them",
      applies: { id, _ in id.interface == .rdmaODP },
      expect: .onDemand),
    ExpectationRule(
      origin: "memfd-only",
      basis: "IOMMU_IOAS_MAP_FILE pins through memfd_pin_folios, which takes shmem and hugetlbfs files",
      applies: { id, _ in id.interface == .iommufdFile && (id.kind == .memfd || id.kind == .tmpfsShared) },
      expect: .pinned),
    ExpectationRule(
      origin: "memfd-only",
      basis: "memfd_pin_folios refuses any file that is not shmem or hugetlbfs with EINVAL",
      applies: { id, _ in id.interface == .iommufdFile },
      expect: .refused, errno: .invalidArgument),
    ExpectationRule(
      origin: "gup-fast-anon-cow",
      basis: "the written MAP_PRIVATE pages are anonymous copies; pin_user_pages_fast pins them without checking the DAX VMA",
      applies: { id, f in
        id.kind.isCopyOnWrite && pinsFastFirst(id.interface, f)
          && (id.access == .rw || (id.interface != .ioUring && !(id.interface == .rdma && rdmaPinsReadOnlyForWriting(f))))
      },
      expect: .pinned),
    ExpectationRule(
      origin: "gup-fsdax",
      basis: "check_vma_flags: FOLL_LONGTERM on a VMA where vma_is_fsdax() (since 4.16 for VFIO, all io_uring)",
      applies: { id, f in
        // Before 5.11 the fsdax test ran after the pages were pinned (check_dax_vmas), so an
        // io_uring pin of a read-only buffer failed first on FOLL_WRITE (lab: Debian 5.10.223);
        // so does AF_XDP's, and an RDMA region's of a read-only shared mapping (FOLL_FORCE
        // writes only through a private mapping).
        id.kind.isFilesystemDAX && !(id.access == .ro && !f.atLeast(5, 11)
          && (alwaysPinsForWriting(id.interface) || (id.interface == .rdma && id.kind.isShared)))
      },
      expect: .refused, errno: .notSupported),
    ExpectationRule(
      origin: "io_uring-write-pin",
      basis: "io_uring pins every buffer with FOLL_WRITE; the ro buffer is mapped PROT_READ",
      applies: { id, _ in id.interface == .ioUring && id.access == .ro },
      expect: .refused, errno: .badAddress),
    ExpectationRule(
      origin: "xdp-umem-write-pin",
      basis: "xdp_umem_pin_pages pins the UMEM with FOLL_WRITE | FOLL_LONGTERM; the ro buffer is mapped PROT_READ",
      applies: { id, _ in id.interface == .afXDP && id.access == .ro },
      expect: .refused, errno: .badAddress),
    ExpectationRule(
      origin: "ib-umem-write-force",
      basis: "before 6.2 ib_umem_get pins a region without write access with FOLL_WRITE | FOLL_FORCE, which check_vma_flags refuses for a read-only MAP_SHARED mapping, and from 6.0 for hugetlb (\"mm/gup: disallow FOLL_FORCE|FOLL_WRITE on hugetlb mappings\"; lab: Debian 6.1.176)",
      applies: { id, f in
        id.interface == .rdma && id.access == .ro && rdmaPinsReadOnlyForWriting(f)
          && (id.kind.isShared || (id.kind == .hugetlb2m && f.atLeast(6, 0)))
      },
      expect: .refused, errno: .badAddress),
    ExpectationRule(
      origin: "io_uring-file-policy",
      basis: "before 6.5 io_uring refuses file-backed buffers other than shmem and hugetlbfs itself; version fallback (lab: Debian 5.10.223 and 6.1.176 pin memfd and tmpfs)",
      applies: { id, f in
        id.interface == .ioUring && !f.atLeast(6, 5) && id.kind.isFileBacked && id.kind != .memfd && id.kind != .tmpfsShared
      },
      expect: .refused, errno: .notSupported),
    ExpectationRule(
      origin: "gup-file-dirty-tracking",
      basis: "6.5+: no FOLL_LONGTERM|FOLL_WRITE pin of a shared file mapping that needs dirty tracking; version fallback",
      applies: { id, f in f.atLeast(6, 5) && id.access == .rw && id.kind == .pagecacheShared },
      expect: .refused, errno: .badAddress),
    ExpectationRule(
      origin: "longterm-pin-allowed",
      basis: "anonymous, hugetlb, shmem, device-DAX and read-only or private page-cache pages may be pinned",
      applies: { _, _ in true },
      expect: .pinned),
  ]
}
