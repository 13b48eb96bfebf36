import SystemPackage

/// A VFIO type1 container with one group attached: the model of rust-vmm's `VfioContainer`.
///
/// The *container* (`/dev/vfio/vfio`, or `/dev/iommu` in iommufd compat mode) holds an IOMMU
/// address space; a *group* is the smallest set of devices the IOMMU can isolate, and is usable
/// only when viable (every device in it bound to vfio-pci or to nothing). `VFIO_SET_IOMMU`
/// creates the IOMMU domain once a group is attached; only then does `VFIO_IOMMU_MAP_DMA` pin the
/// pages long-term (FOLL_LONGTERM, plus FOLL_WRITE for writable maps) and map them at an IOVA.
struct VFIOContainerSession: PinSession {
  let kernel: any Kernel
  let container: FileDescriptor
  let ranges: [IOVARange]
  let notExercisedReason: String?

  /// Opens the container, checks the API and the backend, attaches the group and sets the IOMMU.
  /// Every step taken is registered with `cleanup` before the next one can fail.
  static func open(
    kernel: any Kernel, interface: Interface, group: VFIOGroupTarget?, containerPresent: Bool, iommufdPresent: Bool,
    cleanup: Cleanup
  ) throws -> VFIOContainerSession {
    let path = interface == .iommufdCompat ? "/dev/iommu" : "/dev/vfio/vfio"
    if interface == .iommufdCompat && !iommufdPresent {
      throw SessionUnavailable(
        outcome: .unsupported, reason: "no /dev/iommu (CONFIG_IOMMUFD)",
        hint: "Debian kernels lack IOMMUFD: `daxpin lab --kernel source:<version>` builds one that has it")
    }
    if interface != .iommufdCompat && !containerPresent {
      throw SessionUnavailable(
        outcome: .unsupported, reason: "no /dev/vfio/vfio",
        hint: "modprobe vfio-pci and bind a spare device to it, or run `daxpin lab`")
    }
    guard let group else {
      throw SessionUnavailable(
        outcome: .unsupported, reason: "no VFIO group: no device is bound to vfio-pci",
        hint: "bind a spare device to vfio-pci (daxpin never rebinds devices) and pass --vfio-group N, or run `daxpin lab`")
    }
    let type: VFIOIOMMUType = group.noiommu ? .noiommu : (interface == .vfioType1 ? .type1 : .type1v2)

    let c = try kernel.open(path, writable: true).orUnavailable("open \(path)")
    cleanup.add("close container") { kernel.close(c) }
    let version = try kernel.vfioAPIVersion(c).orUnavailable("VFIO_GET_API_VERSION")
    guard version == 0 else {
      throw SessionUnavailable(outcome: .setupFailed, reason: "VFIO API version \(version), daxpin speaks 0")
    }
    guard try kernel.vfioCheckExtension(c, type).orUnavailable("VFIO_CHECK_EXTENSION") else {
      throw SessionUnavailable(outcome: .unsupported, reason: "the container does not support the \(type) IOMMU backend")
    }

    let g: FileDescriptor
    switch kernel.open(group.node, writable: true) {
    case .success(let fd): g = fd
    case .failure(let e) where e == .resourceBusy:
      throw SessionUnavailable(
        outcome: .setupFailed, reason: "VFIO group \(group.id) is busy: another process (QEMU?) has \(group.node) open",
        hint: "stop the process using it, or pass --vfio-group with a free group")
    case .failure(let e):
      throw SessionUnavailable(
        outcome: e == .noSuchFileOrDirectory ? .unsupported : .setupFailed, reason: "open \(group.node): \(e.name)")
    }
    cleanup.add("close group") { kernel.close(g) }
    let status = try kernel.vfioGroupStatus(g).orUnavailable("VFIO_GROUP_GET_STATUS")
    guard status.viable else {
      throw SessionUnavailable(
        outcome: .setupFailed, reason: "VFIO group \(group.id) is not viable",
        hint: "bind every device in /sys/kernel/iommu_groups/\(group.id)/devices to vfio-pci (or unbind it)")
    }
    try kernel.vfioGroupSetContainer(g, c).orUnavailable("VFIO_GROUP_SET_CONTAINER")
    cleanup.add("unset container") { _ = kernel.vfioGroupUnsetContainer(g) }
    try kernel.vfioSetIOMMU(c, type).orUnavailable("VFIO_SET_IOMMU(\(type))")
    // iommufd's compat container gives the IOAS a domain only when a device of the group is opened
    // (lab, source 7.3: MAP_DMA "succeeded" on fsdax with VmPin +0 until then). The legacy type1
    // container has its domain from SET_IOMMU, and there the device is left closed: opening it may
    // reset it.
    var deviceOpen = interface != .iommufdCompat
    if interface == .iommufdCompat, let address = group.deviceAddress {
      let d = try kernel.vfioGroupGetDeviceFD(g, device: address).orUnavailable("VFIO_GROUP_GET_DEVICE_FD \(address)")
      cleanup.add("close device") { kernel.close(d) }
      deviceOpen = true
    }

    var ranges = [IOVARange(start: 0, last: (1 << 39) - 1)]
    var reason: String?
    if group.noiommu {
      reason = "noiommu group: VFIO has no IOMMU to map through, nothing is pinned"
    } else {
      if case .success(let info) = kernel.vfioIOMMUInfo(c), !info.ranges.isEmpty { ranges = info.ranges }
      if group.mdevOnly { reason = "mdev-only group: type1 keeps no IOMMU domain and pins nothing at MAP_DMA" }
      if !deviceOpen { reason = "no device of the group could be opened: the compat IOAS has no domain and pins nothing" }
    }
    return VFIOContainerSession(kernel: kernel, container: c, ranges: ranges, notExercisedReason: reason)
  }

  func ready(_ memory: PreparedMemory, access: Access) -> Result<ReadyPin, PinNotReady> {
    let size = UInt64(memory.mapping.length)
    guard let iova = chooseIOVA(in: ranges, size: size) else {
      return .failure(PinNotReady(request: "VFIO_IOMMU_MAP_DMA", reason: "no IOVA window reported by VFIO_IOMMU_GET_INFO holds \(size) bytes"))
    }
    let (kernel, container) = (kernel, container)
    let map = DMAMapping(vaddr: UInt64(memory.mapping.address), iova: iova, size: size, access: access)
    return .success(
      ReadyPin(
        request: "VFIO_IOMMU_MAP_DMA iova=\(hex(iova)) size=\(hex(size)) \(access == .rw ? "READ|WRITE" : "READ")", size: size,
        pin: { kernel.vfioMapDMA(container, map) },
        unpin: { kernel.vfioUnmapDMA(container, iova: iova, size: size) }, unpinName: "VFIO_IOMMU_UNMAP_DMA"))
  }
}
