import SystemPackage

/// Why a long-term DMA pin is (or was) refused: the one vocabulary of `daxpin check` (a
/// prediction's `cause`) and `daxpin explain` (each candidate's `cause`). The spellings are the
/// JSON's and the text's.
public enum PinCause: String, CaseIterable, Codable, Sendable, Comparable {
  /// EOPNOTSUPP: long-term pins of filesystem-DAX pages are refused.
  case fsdaxLongtermPin = "fsdax-longterm-pin"
  /// EFAULT: a writable long-term pin of a shared file mapping that needs dirty tracking (6.5+).
  case fileWritebackPin = "file-writeback-pin"
  /// EOPNOTSUPP: io_uring's own refusal of file-backed buffers, before 6.5.
  case ioUringFileBacked = "io_uring-file-backed"
  /// EFAULT: a PCI BAR or other memory without struct pages.
  case pfnmapNoStructPage = "pfnmap-no-struct-page"
  /// ENOMEM: RLIMIT_MEMLOCK is too small for what is pinned.
  case memlockLimit = "memlock-limit"
  /// ENOSPC: VFIO type1's `dma_entry_limit` mappings per container are used up.
  case dmaEntryLimit = "dma-entry-limit"
  /// EINVAL at mmap: a device-DAX mapping whose start or end is not a multiple of the device's
  /// align (QEMU's "unable to map backing store for guest RAM: Invalid argument").
  case devdaxAlignment = "devdax-alignment"
  /// EINVAL at mmap: a MAP_PRIVATE mapping of device-DAX (QEMU's `share=off`, the default of
  /// memory-backend-file).
  case devdaxPrivateMapping = "devdax-private-mapping"
  /// Recognised, but no cause of the vocabulary explains it.
  case unknown

  public static func < (a: Self, b: Self) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }

  /// The errno the kernel answers with for this cause; nil for `unknown`.
  public var errno: Errno? {
    switch self {
    case .fsdaxLongtermPin, .ioUringFileBacked: .notSupported
    case .fileWritebackPin, .pfnmapNoStructPage: .badAddress
    case .memlockLimit: .noMemory
    case .dmaEntryLimit: .noSpace
    case .devdaxAlignment, .devdaxPrivateMapping: .invalidArgument
    case .unknown: nil
    }
  }

  /// The rule's name. `gup-fsdax`, `gup-file-dirty-tracking` and `io_uring-file-policy` are the
  /// rule table's origins (`Expectations.rules`); the others name the kernel check.
  public var origin: String? {
    switch self {
    case .fsdaxLongtermPin: "gup-fsdax"
    case .fileWritebackPin: "gup-file-dirty-tracking"
    case .ioUringFileBacked: "io_uring-file-policy"
    case .pfnmapNoStructPage: "gup-pfnmap"
    case .memlockLimit: "rlimit-memlock"
    case .dmaEntryLimit: "vfio-dma-entry-limit"
    case .devdaxAlignment, .devdaxPrivateMapping: "devdax-check-vma"
    case .unknown: nil
    }
  }

  /// The kernel rule, in one or two sentences.
  public var rule: String {
    switch self {
    case .fsdaxLongtermPin:
      "A long-term pin (FOLL_LONGTERM) of a filesystem-DAX page is refused with EOPNOTSUPP (check_vma_flags: vma_is_fsdax): the filesystem could free and reuse the block while a device still DMAs to it."
    case .fileWritebackPin:
      "From 6.5, a writable long-term pin of a MAP_SHARED file mapping that needs dirty tracking (page cache of ext4, xfs, btrfs …; not shmem, memfd or hugetlbfs) is refused with EFAULT."
    case .ioUringFileBacked:
      "Before 6.5, io_uring refuses a fixed buffer backed by a file other than shmem (memfd, tmpfs) or hugetlbfs with EOPNOTSUPP, its own check before GUP's: page cache and device-DAX included."
    case .pfnmapNoStructPage:
      "GUP pins only memory with struct pages: a VM_IO|VM_PFNMAP mapping (a PCI BAR mmapped from vfio-pci, other device MMIO) is refused with EFAULT. iommufd cannot map it; VFIO type1 maps it by PFN only while the BAR is mapped and its memory decoding is on."
    case .memlockLimit:
      "Long-term pins are charged to RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK (VFIO type1, iommufd, io_uring, RDMA); a pin past the limit fails with ENOMEM."
    case .dmaEntryLimit:
      "VFIO type1 keeps at most dma_entry_limit mappings per container (module parameter, default 65535); the next VFIO_IOMMU_MAP_DMA fails with ENOSPC."
    case .devdaxAlignment:
      "Device-DAX refuses a mapping whose start or end is not a multiple of the device's align with EINVAL (check_vma: `dax_mmap: fail, unaligned vma`), before anything is pinned."
    case .devdaxPrivateMapping:
      "Device-DAX refuses a MAP_PRIVATE mapping with EINVAL (check_vma: `dax_mmap: fail, attempted private mapping`), before anything is pinned."
    case .unknown:
      "No rule of daxpin's vocabulary gives this answer."
    }
  }

  /// The kernels the rule holds on, in words; nil where it holds on every kernel daxpin knows.
  public var kernels: String? {
    switch self {
    case .fsdaxLongtermPin: "4.16 and later"
    case .fileWritebackPin: "6.5 and later"
    case .ioUringFileBacked: "5.1 to 6.4"
    case .dmaEntryLimit: "5.1 and later, and stable kernels that took the backport"
    default: nil
    }
  }

  /// Whether the rule holds on a kernel of `version`; nil when that cannot be told (an
  /// unparsable release, a rule that was backported, or `unknown`).
  public func applies(on version: KernelVersion?) -> Bool? {
    if self == .unknown { return nil }
    guard let version else { return nil }
    switch self {
    case .fsdaxLongtermPin: return version >= KernelVersion(4, 16)
    case .fileWritebackPin: return version >= KernelVersion(6, 5)
    case .ioUringFileBacked: return version >= KernelVersion(5, 1) && version < KernelVersion(6, 5)
    case .dmaEntryLimit: return version >= KernelVersion(5, 1) ? true : nil
    default: return true
    }
  }

  /// What to change so the pin succeeds (or the refusal goes away for good reason).
  public var fix: String {
    switch self {
    case .fsdaxLongtermPin:
      "Do not pin filesystem-DAX for DMA: back the memory with device-DAX (`ndctl create-namespace --mode=devdax`, QEMU `mem-path=/dev/daxX.Y,share=on,align=` the device's align), or with a file on a mount without DAX; for io_uring or RDMA, register anonymous or hugetlb buffers and reach the DAX file with read/write or O_DIRECT."
    case .fileWritebackPin:
      "Back the pinned memory with anonymous memory, memfd or tmpfs (QEMU `memory-backend-memfd`, a file in /dev/shm) or hugetlbfs, or map the file MAP_PRIVATE; a shared page-cache file cannot be pinned writable from 6.5."
    case .ioUringFileBacked:
      "Register buffers from anonymous, hugetlb, memfd or tmpfs memory, or run 6.5 or later, where io_uring leaves the decision to GUP (private page cache and device-DAX pin)."
    case .pfnmapNoStructPage:
      "A BAR has no pages to pin. QEMU goes on after a failed BAR mapping (only peer-to-peer DMA between devices is lost); where P2P is needed use the VFIO type1 container rather than iommufd, keep the device in D0 with memory decoding on, and keep BARs inside the IOMMU's address width."
    case .memlockLimit:
      "Raise RLIMIT_MEMLOCK of the pinning process to at least what it pins (guest RAM plus BARs): `ulimit -l`, systemd `LimitMEMLOCK=`, libvirt `<memtune><hard_limit>`, or give it CAP_IPC_LOCK; QEMU's own limit is in `/proc/PID/limits` (Max locked memory)."
    case .dmaEntryLimit:
      "Raise `vfio_iommu_type1.dma_entry_limit` (module parameter), or map fewer, larger ranges: hugetlb-backed memory, a larger virtio-mem block-size."
    case .devdaxAlignment:
      "Map device-DAX with a size and an address that are multiples of the device's align (`daxctl list` shows it; QEMU `align=` must equal it)."
    case .devdaxPrivateMapping:
      "Map device-DAX MAP_SHARED: QEMU `share=on` (memory-backend-file defaults to share=off), libvirt `access='shared'`, cloud-hypervisor `shared=on`."
    case .unknown:
      "Read the errno together with the lines around it; `daxpin probe` shows what this kernel pins."
    }
  }

  /// The cause behind a refusal of the rule table (`Expectations.rules`), by the rule's origin.
  public init(ruleOrigin: String) {
    self = Self.allCases.first { $0.origin == ruleOrigin && Self.ruleTableOrigins.contains(ruleOrigin) } ?? .unknown
  }

  /// The origins of the rule table's refusals.
  static let ruleTableOrigins: Set<String> = ["gup-fsdax", "gup-file-dirty-tracking", "io_uring-file-policy"]
}
