import SystemPackage

/// The pinning path a message comes from.
public enum PinPath: String, Codable, Sendable {
  /// The VFIO type1 container (`VFIO_IOMMU_MAP_DMA`).
  case vfioType1 = "vfio-type1"
  /// VFIO through either QEMU backend (type1 container or iommufd): QEMU's
  /// `vfio_container_dma_map` does not say which.
  case vfio
  /// iommufd (`IOMMU_IOAS_MAP`).
  case iommufd
  /// io_uring fixed buffers (`IORING_REGISTER_BUFFERS`).
  case ioUring = "io_uring"
  /// RDMA memory registration (`ibv_reg_mr`, the kernel's `ib_umem_get`).
  case rdma

  /// The daxpin interface whose probe takes the same path: RDMA's is `rdma` itself (`ibv_reg_mr`
  /// on the first RDMA device; soft-RoCE will do).
  var probeInterface: Interface {
    switch self {
    case .vfioType1, .vfio: .vfioType1v2
    case .iommufd: .iommufd
    case .ioUring: .ioUring
    case .rdma: .rdma
    }
  }
}

/// The message formats `daxpin explain` recognises, in the order they are tried (the first that
/// matches a line decides). Matching is ASCII-case-insensitive and looks for the format anywhere
/// in the line, so wrappers (libvirt's `qemuProcessReportLogError: … internal error: qemu
/// unexpectedly closed the monitor: …`, kata's `msg="…"` and JSON lines, journald prefixes,
/// timestamps) need nothing of their own.
public enum Recogniser: String, CaseIterable, Codable, Sendable {
  /// QEMU's failed DMA map of a memory section: `vfio_dma_map(0x…, 0x…, 0x…, 0x…) = -14 (Bad
  /// address)` (hw/vfio before QEMU 8.2) and `vfio_container_dma_map(0x…, 0x…, 0x…, 0x…) = -22
  /// (Invalid argument)` (8.2 and later, both backends), alone, as a `warning:` (a RAM device,
  /// i.e. a BAR), or inside `failed to setup container for group N: memory listener
  /// initialization failed: Region NAME: …`.
  case qemuDMAMap = "qemu-vfio-dma-map"
  /// QEMU's iommufd backend: `IOMMU_IOAS_MAP failed: Bad address, PCI BAR?` (QEMU adds
  /// `, PCI BAR?` to every EFAULT) and `IOMMU_IOAS_MAP failed: Operation not supported`.
  case qemuIOASMap = "qemu-iommufd-ioas-map"
  /// QEMU's legacy container: `VFIO_MAP_DMA failed: Bad address` (QEMU 2.9 and later) and
  /// `VFIO_MAP_DMA: -22` (older).
  case qemuMapDMA = "qemu-vfio-map-dma"
  /// QEMU's mmap of a `memory-backend-file`: `unable to map backing store for guest RAM: Invalid
  /// argument` (device-DAX refuses a private or unaligned mapping before any pin).
  case qemuBackingStore = "qemu-backing-store"
  /// cloud-hypervisor's Debug-printed errors: `VfioDmaMap(IommuDmaMap(Error(14)))`, also inside
  /// `Error booting VM: VmBoot(DeviceManager(…))`; the errno is `Error(N)` or `Os { code: N, … }`.
  case cloudHypervisor = "cloud-hypervisor-dma-map"
  /// SPDK's VFIO map: `Cannot set up DMA mapping, error 14` (a positive errno, `, ignored` on
  /// some versions).
  case spdkDMAMapping = "spdk-dma-mapping"
  /// SPDK's registration: `spdk_mem_register() failed` (nvme_pcie's CMB, a BAR) and callers'
  /// `spdk_mem_register(…) failed: …`.
  case spdkMemRegister = "spdk-mem-register"
  /// The mlx5 driver's kernel message: `mlx5_0:mr_umem_get:1045:(pid 4321): umem get failed
  /// (-95)` (the errno of `ib_umem_get`).
  case rdmaUmemGet = "rdma-umem-get"
  /// libibverbs callers: `ibv_reg_mr failed`, `ibv_reg_mr(…) failed: Cannot allocate memory`,
  /// `Error registering memory: Unknown error -95`.
  case rdmaRegMR = "rdma-reg-mr"
  /// io_uring buffer registration: `io_uring_register_buffers: Operation not supported`,
  /// `io_uring_register_buffers failed: -EOPNOTSUPP`, `IORING_REGISTER_BUFFERS … Bad address`.
  case ioUringRegisterBuffers = "io_uring-register-buffers"
  /// The VFIO type1 driver's kernel message: `vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536)
  /// exceeded` (and `vfio_pin_page_external`'s, the same words): ENOMEM.
  case kernelMemlock = "kernel-rlimit-memlock"
  /// The device-DAX driver's kernel message: `device_dax dax0.0: qemu-system-x86: dax_mmap: fail,
  /// attempted private mapping` and `… fail, unaligned vma (0x… - 0x…, 0x1fffff)`: EINVAL.
  case kernelDevdaxCheckVMA = "kernel-devdax-check-vma"
  /// A failure that names VFIO's `dma_entry_limit` (the kernel prints nothing of its own for
  /// it; QEMU and the tools that hit it do): ENOSPC.
  case dmaEntryLimit = "vfio-dma-entry-limit"
  /// QEMU's virtio-mem warning `…: possibly running out of DMA mappings. E.g., try increasing
  /// the 'block-size' of virtio-mem devies. Maximum possible DMA mappings: 65535, …`: ENOSPC ahead.
  case qemuRunningOutOfDMAMappings = "qemu-dma-mappings-limit"
  /// QEMU's line after a failed BAR mapping: `0000:41:00.0: PCI peer-to-peer transactions on BARs
  /// are not supported.`
  case qemuBARPeerToPeer = "qemu-bar-p2p"
  /// QEMU's `vfio: DMA mapping failed, unable to continue` (a hardware error, after a vIOMMU map).
  case qemuDMAMappingFailed = "qemu-dma-mapping-failed"
  /// QEMU's container setup failure when the DMA map that caused it is on another line (a
  /// wrapped log): `failed to setup container for group 17: memory listener initialization
  /// failed: Region pc.ram:`.
  case qemuContainerSetup = "qemu-container-setup"

  /// What the message is, for people.
  public var label: String {
    switch self {
    case .qemuDMAMap: "QEMU VFIO DMA map"
    case .qemuIOASMap: "QEMU iommufd IOMMU_IOAS_MAP"
    case .qemuMapDMA: "QEMU VFIO_MAP_DMA (type1 container)"
    case .qemuBackingStore: "QEMU guest RAM backing store mmap"
    case .cloudHypervisor: "cloud-hypervisor VFIO DMA map"
    case .spdkDMAMapping: "SPDK VFIO DMA mapping"
    case .spdkMemRegister: "SPDK spdk_mem_register"
    case .rdmaUmemGet: "RDMA ib_umem_get (kernel, mlx5)"
    case .rdmaRegMR: "RDMA memory registration (ibv_reg_mr)"
    case .ioUringRegisterBuffers: "io_uring buffer registration"
    case .kernelMemlock: "kernel VFIO type1 RLIMIT_MEMLOCK"
    case .kernelDevdaxCheckVMA: "kernel device-DAX mmap check"
    case .dmaEntryLimit: "VFIO dma_entry_limit"
    case .qemuRunningOutOfDMAMappings: "QEMU DMA mapping count warning"
    case .qemuBARPeerToPeer: "QEMU BAR mapping (peer-to-peer)"
    case .qemuDMAMappingFailed: "QEMU VFIO DMA mapping (hardware error)"
    case .qemuContainerSetup: "QEMU VFIO container setup"
    }
  }

  /// The pinning path of the message, where it names one.
  var path: PinPath? {
    switch self {
    case .qemuMapDMA, .kernelMemlock, .dmaEntryLimit, .qemuRunningOutOfDMAMappings: .vfioType1
    case .qemuDMAMap, .cloudHypervisor, .spdkDMAMapping, .spdkMemRegister, .qemuBARPeerToPeer,
      .qemuDMAMappingFailed, .qemuContainerSetup:
      .vfio
    case .qemuIOASMap: .iommufd
    case .rdmaUmemGet, .rdmaRegMR: .rdma
    case .ioUringRegisterBuffers: .ioUring
    case .qemuBackingStore, .kernelDevdaxCheckVMA: nil
    }
  }
}

/// A recognised line: the format, the errno it reports, and the errno its words imply when it
/// reports none (`RLIMIT_MEMLOCK … exceeded` is ENOMEM).
struct Recognition: Equatable {
  var recogniser: Recogniser
  var errno: Errno?
  var implied: Errno?
  /// The errno the ranking goes by.
  var effectiveErrno: Errno? { errno ?? implied }
}

extension Recogniser {
  /// The first format that matches `line`, or nil.
  static func recognise(_ line: ScannedLine) -> Recognition? {
    let failing = line.hasAny(.fail, .error, .unable, .cannot, .couldNot, .couldnt, .notSupported)
    func errno(after anchor: Int?) -> Errno? {
      guard let anchor else { return nil }
      return ErrnoToken.find(in: line, from: anchor, to: anchor + ExplainLimits.errnoWindow)
    }
    func make(_ r: Recogniser, after anchor: Int?, implied: Errno? = nil) -> Recognition {
      Recognition(recogniser: r, errno: errno(after: anchor), implied: implied)
    }
    // QEMU prints these only when a map failed.
    if let a = line.end(.vfioContainerDmaMap) ?? line.end(.vfioDmaMap) {
      return make(.qemuDMAMap, after: a)
    }
    if let a = line.end(.ioasMap), failing || errno(after: a) != nil {
      return make(.qemuIOASMap, after: a)
    }
    if let a = line.end(.vfioMapDMA), failing || errno(after: a) != nil {
      return make(.qemuMapDMA, after: a)
    }
    if let a = line.end(.backingStore) {
      return make(.qemuBackingStore, after: a)
    }
    if let a = [line.index(.vfioDmaMapCH), line.index(.iommuDmaMapCH)].compactMap({ $0 }).min() {
      return make(.cloudHypervisor, after: a)
    }
    if let a = line.end(.spdkDMAMapping) {
      return make(.spdkDMAMapping, after: a)
    }
    if let a = line.end(.spdkMemRegister), failing || errno(after: a) != nil {
      return make(.spdkMemRegister, after: a)
    }
    if let a = line.end(.umemGetFailed) {
      return make(.rdmaUmemGet, after: a)
    }
    if let a = line.end(.ibvRegMR), failing || errno(after: a) != nil {
      return make(.rdmaRegMR, after: a)
    }
    if let a = line.end(.registeringMemory), errno(after: a) != nil {
      return make(.rdmaRegMR, after: a)
    }
    if let a = line.end(.ioUringRegisterBuffers) ?? line.end(.ioringRegisterBuffers), failing || errno(after: a) != nil {
      return make(.ioUringRegisterBuffers, after: a)
    }
    if let a = line.end(.rlimitMemlock), let x = line.index(.exceeded), x > a {
      return Recognition(recogniser: .kernelMemlock, errno: nil, implied: .noMemory)
    }
    if line.hasAny(.daxFailPrivate, .daxFailUnaligned), line.hasAny(.daxMmap, .deviceDaxUnderscore, .devDax) || daxDevice(line) {
      return Recognition(recogniser: .kernelDevdaxCheckVMA, errno: nil, implied: .invalidArgument)
    }
    if let a = line.end(.dmaEntryLimit), failing || line.has(.exceeded) || errno(after: a) != nil || errno(after: 0) == .noSpace {
      return Recognition(recogniser: .dmaEntryLimit, errno: errno(after: 0), implied: .noSpace)
    }
    if line.has(.runningOutOfDMAMappings) {
      return Recognition(recogniser: .qemuRunningOutOfDMAMappings, errno: nil, implied: .noSpace)
    }
    if line.has(.barPeerToPeer) {
      return Recognition(recogniser: .qemuBARPeerToPeer, errno: nil, implied: nil)
    }
    if line.has(.dmaMappingFailed) {
      return Recognition(recogniser: .qemuDMAMappingFailed, errno: nil, implied: nil)
    }
    if let a = line.end(.listenerInitFailed) ?? line.end(.setupContainer) {
      return make(.qemuContainerSetup, after: a)
    }
    return nil
  }

  /// A device-DAX device name such as `dax0.0` in the line (the kernel's dev_info prefix).
  static func daxDevice(_ line: ScannedLine) -> Bool {
    line.positions(of: "dax").contains { i in
      !line.isAlnum(at: i - 1) && line.isDigit(at: i + 3)
    }
  }
}
