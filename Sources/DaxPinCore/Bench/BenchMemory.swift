/// What backs a `daxpin bench` buffer. Spellings are the bench report's and the CLI's.
public enum BenchMemory: String, CaseIterable, Codable, Sendable, Comparable {
  /// `MAP_PRIVATE|MAP_ANONYMOUS` with `MADV_NOHUGEPAGE`: 4 KiB pages only.
  case anon4k = "anon-4k"
  /// `MAP_PRIVATE|MAP_ANONYMOUS` with `MADV_HUGEPAGE`: transparent huge pages where the kernel
  /// gives them (the report says how much of the buffer `AnonHugePages` covers).
  case thp
  /// `MAP_ANONYMOUS|MAP_HUGETLB` from the 2 MiB hugetlb pool.
  case hugetlb2m = "hugetlb-2m"
  /// A `memfd_create` file (shmem), `MAP_SHARED`.
  case memfd
  /// `/dev/daxX.Y`, `MAP_SHARED`, read-faulted and never written.
  case devdax

  public static func < (a: Self, b: Self) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }

  /// The interfaces `daxpin bench` times: io_uring needs no device; VFIO type1v2 and iommufd need
  /// a group bound to vfio-pci (and a vfio cdev for iommufd).
  public static let interfaces: [Interface] = [.ioUring, .vfioType1v2, .iommufd]
}
