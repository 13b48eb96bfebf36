import SystemPackage

/// An iommufd I/O address space (IOAS) with a VFIO device attached.
///
/// `/dev/iommu` hands out objects by id: an *IOAS* is an address space user space maps into
/// (`IOMMU_IOAS_MAP` by VA, `IOMMU_IOAS_MAP_FILE` by memfd and offset). Pages are pinned only while
/// a domain or an access is attached: a vfio cdev (`/dev/vfio/devices/vfioN`) is bound with
/// `VFIO_DEVICE_BIND_IOMMUFD` and attached with `VFIO_DEVICE_ATTACH_IOMMUFD_PT`. Without a device the
/// map only records the range, and daxpin reports the cell `not-exercised`.
struct IOMMUFDSession: PinSession {
  let kernel: any Kernel
  let iommufd: FileDescriptor
  let ioas: UInt32
  let ranges: [IOVARange]
  let byFile: Bool
  let notExercisedReason: String?

  static func open(
    kernel: any Kernel, byFile: Bool, present: Bool, group: VFIOGroupTarget?, cleanup: Cleanup
  ) throws -> IOMMUFDSession {
    guard present else {
      throw SessionUnavailable(
        outcome: .unsupported, reason: "no /dev/iommu (CONFIG_IOMMUFD)",
        hint: "Debian kernels lack IOMMUFD: `daxpin lab --kernel source:<version>` builds one that has it")
    }
    let fd = try kernel.open("/dev/iommu", writable: true).orUnavailable("open /dev/iommu")
    cleanup.add("close /dev/iommu") { kernel.close(fd) }
    let ioas = try kernel.iommufdAllocIOAS(fd).orUnavailable("IOMMU_IOAS_ALLOC")
    cleanup.add("destroy IOAS") { _ = kernel.iommufdDestroy(fd, id: ioas) }

    var reason: String? = "no vfio device cdev to attach: the IOAS has no domain and IOMMU_IOAS_MAP pins nothing"
    if let cdev = group?.deviceCdev {
      let dev = try kernel.open(cdev, writable: true).orUnavailable("open \(cdev)")
      cleanup.add("close \(cdev)") { kernel.close(dev) }
      _ = try kernel.vfioDeviceBindIOMMUFD(dev, iommufd: fd).orUnavailable("VFIO_DEVICE_BIND_IOMMUFD")
      try kernel.vfioDeviceAttachIOMMUFDPT(dev, ptID: ioas).orUnavailable("VFIO_DEVICE_ATTACH_IOMMUFD_PT")
      cleanup.add("detach") { _ = kernel.vfioDeviceDetachIOMMUFDPT(dev) }
      reason = nil
    }
    let ranges = (try? kernel.iommufdIOVARanges(fd, ioas: ioas).get()).flatMap { $0.isEmpty ? nil : $0 }
      ?? [IOVARange(start: 0, last: (1 << 39) - 1)]
    return IOMMUFDSession(kernel: kernel, iommufd: fd, ioas: ioas, ranges: ranges, byFile: byFile, notExercisedReason: reason)
  }

  func ready(_ memory: PreparedMemory, access: Access) -> Result<ReadyPin, PinNotReady> {
    let size = UInt64(memory.mapping.length)
    guard let iova = chooseIOVA(in: ranges, size: size) else {
      return .failure(PinNotReady(request: "IOMMU_IOAS_MAP", reason: "no IOVA window reported by IOMMU_IOAS_IOVA_RANGES holds \(size) bytes"))
    }
    let (kernel, iommufd, ioas) = (kernel, iommufd, ioas)
    let flags = "FIXED_IOVA|READABLE\(access == .rw ? "|WRITEABLE" : "")"
    let unpin = { kernel.iommufdUnmap(iommufd, ioas: ioas, iova: iova, length: size) }
    if byFile {
      guard let file = memory.file else { return .failure(PinNotReady(request: "IOMMU_IOAS_MAP_FILE", reason: "no file behind the memory")) }
      let map = DMAMapping(vaddr: 0, iova: iova, size: size, access: access)
      return .success(
        ReadyPin(
          request: "IOMMU_IOAS_MAP_FILE ioas=\(ioas) offset=0 length=\(hex(size)) iova=\(hex(iova)) \(flags)", size: size,
          pin: { kernel.iommufdMapFile(iommufd, ioas: ioas, file: file, map) }, unpin: unpin, unpinName: "IOMMU_IOAS_UNMAP"))
    }
    let map = DMAMapping(vaddr: UInt64(memory.mapping.address), iova: iova, size: size, access: access)
    return .success(
      ReadyPin(
        request: "IOMMU_IOAS_MAP ioas=\(ioas) length=\(hex(size)) iova=\(hex(iova)) \(flags)", size: size,
        pin: { kernel.iommufdMap(iommufd, ioas: ioas, map) }, unpin: unpin, unpinName: "IOMMU_IOAS_UNMAP"))
  }
}
