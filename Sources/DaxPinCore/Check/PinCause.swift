/// Why a long-term pin is refused, in the words `daxpin check` prints (`cause:`) and its JSON
/// carries (`cause`). `daxpin explain` names causes with the same spellings; a merge is to keep
/// one list for both.
public enum PinCause: String, Codable, Sendable, CaseIterable {
  /// check_vma_flags refuses FOLL_LONGTERM on a filesystem-DAX VMA (EOPNOTSUPP).
  case fsdaxLongtermPin = "fsdax-longterm-pin"
  /// 6.5+: no writable long-term pin of a shared file mapping that needs dirty tracking (EFAULT).
  case fileWritebackPin = "file-writeback-pin"
  /// Before 6.5 io_uring refuses file-backed buffers other than shmem and hugetlbfs (EOPNOTSUPP).
  case ioUringFileBacked = "io_uring-file-backed"
  /// A VM_PFNMAP/VM_IO mapping has no struct page to pin.
  case pfnmapNoStructPage = "pfnmap-no-struct-page"
  /// The pin would exceed RLIMIT_MEMLOCK of a process without CAP_IPC_LOCK (ENOMEM).
  case memlockLimit = "memlock-limit"
  /// vfio_iommu_type1.dma_entry_limit: too many DMA mappings in one container (ENOSPC).
  case dmaEntryLimit = "dma-entry-limit"
  /// device-DAX refuses a mapping that does not start and end on the device's align (EINVAL at
  /// mmap: QEMU's "unable to map backing store for guest RAM: Invalid argument").
  case devdaxAlignment = "devdax-alignment"
  /// device-DAX refuses a MAP_PRIVATE mapping (EINVAL at mmap). Not in `daxpin explain`'s list yet.
  case devdaxPrivateMapping = "devdax-private-mapping"
  /// Nothing daxpin knows explains it.
  case unknown

  /// The cause behind a refusal of the rule table (`Expectations.rules`), by the rule's origin.
  public init(ruleOrigin: String) {
    switch ruleOrigin {
    case "gup-fsdax": self = .fsdaxLongtermPin
    case "gup-file-dirty-tracking": self = .fileWritebackPin
    case "io_uring-file-policy": self = .ioUringFileBacked
    default: self = .unknown
    }
  }
}
