import DaxPinCore
import SystemPackage

/// The VFIO, iommufd and io_uring state machines, with the errnos the kernel gives for misuse.
extension FakeState {
  var policy: PinPolicy { PinPolicy(profile: profile) }

  // MARK: VFIO container and group

  func container(_ fd: Int32) -> Result<ContainerState, Errno> {
    switch fds[fd] {
    case .container(let c): return .success(c)
    case .iommufd(let st): return .success(st.compat)
    case nil: return .failure(.badFileDescriptor)
    default: return .failure(.inappropriateIOCTLForDevice)
    }
  }

  /// Runs `body` on the container behind `fd` (/dev/vfio/vfio, or /dev/iommu in compat mode)
  /// and stores what it changed.
  mutating func withContainer<T>(_ fd: Int32, _ body: (inout ContainerState) -> Result<T, Errno>) -> Result<T, Errno> {
    switch fds[fd] {
    case .container(var c):
      let r = body(&c)
      fds[fd] = .container(c)
      return r
    case .iommufd(var st):
      let r = body(&st.compat)
      fds[fd] = .iommufd(st)
      return r
    case nil: return .failure(.badFileDescriptor)
    default: return .failure(.inappropriateIOCTLForDevice)
    }
  }

  func groupStatus(_ fd: Int32) -> Result<VFIOGroupStatus, Errno> {
    guard case .group(_, let c) = fds[fd] else { return .failure(fds[fd] == nil ? .badFileDescriptor : .inappropriateIOCTLForDevice) }
    return .success(VFIOGroupStatus(viable: groupViable, containerSet: c != nil))
  }

  mutating func setContainer(_ g: Int32, _ c: Int32) -> Result<Void, Errno> {
    guard case .group(let id, let current) = fds[g] else { return .failure(.inappropriateIOCTLForDevice) }
    guard current == nil else { return .failure(.invalidArgument) }
    guard groupViable else { return .failure(.notPermitted) }
    let r: Result<Void, Errno> = withContainer(c) { st in
      // A second group may join only a container whose IOMMU is already set (vfio_container_attach_group).
      if !st.groups.isEmpty && st.iommu == nil { return .failure(.invalidArgument) }
      st.groups.insert(id)
      return .success(())
    }
    if case .success = r { fds[g] = .group(id: id, container: c) }
    return r.mapError { $0 == .inappropriateIOCTLForDevice ? .badFileDescriptor : $0 }
  }

  mutating func unsetContainer(_ g: Int32) -> Result<Void, Errno> {
    guard case .group(let id, let current) = fds[g], let c = current else { return .failure(.invalidArgument) }
    var released = 0
    _ = withContainer(c) { st -> Result<Void, Errno> in
      st.groups.remove(id)
      if st.groups.isEmpty {
        released = st.dma.reduce(0) { $0 + $1.kb }
        st.dma = []
        st.iommu = nil
      }
      return .success(())
    }
    if case .iommufd = fds[c] { pinnedKB -= released } else { lockedKB -= released }
    fds[g] = .group(id: id, container: nil)
    return .success(())
  }

  /// VFIO_GROUP_GET_DEVICE_FD: the group must be in a container whose IOMMU is set.
  mutating func groupDevice(_ g: Int32, _ name: String) -> Result<FileDescriptor, Errno> {
    guard case .group(_, let c) = fds[g] else { return .failure(.inappropriateIOCTLForDevice) }
    guard let c, case .success(let st) = container(c), st.iommu != nil else { return .failure(.invalidArgument) }
    guard name == layout.vfioDevice else { return .failure(.noSuchFileOrDirectory) }
    _ = withContainer(c) { $0.openDevices += 1; return .success(()) }
    return newFD(.groupDevice(container: c))
  }

  mutating func setIOMMU(_ c: Int32, _ type: VFIOIOMMUType) -> Result<Void, Errno> {
    withContainer(c) { st in
      guard !st.groups.isEmpty else { return .failure(.invalidArgument) }
      guard st.iommu == nil else { return .failure(.resourceBusy) }
      guard type != .noiommu else { return .failure(.invalidArgument) }
      st.iommu = type
      return .success(())
    }
  }

  func iommuInfo(_ c: Int32) -> Result<VFIOIOMMUInfo, Errno> {
    guard case .success(let st) = container(c) else { return .failure(fds[c] == nil ? .badFileDescriptor : .inappropriateIOCTLForDevice) }
    guard st.iommu != nil else { return .failure(.invalidArgument) }
    return .success(VFIOIOMMUInfo(ranges: Self.iovaWindows, pageSizes: 0x4020_1000, dmaAvailable: Int64(dmaEntryLimit - st.dma.count)))
  }

  /// VFIO_IOMMU_MAP_DMA, in vfio_dma_do_map's order of checks.
  mutating func mapDMA(_ c: Int32, _ m: DMAMapping) -> Result<Void, Errno> {
    guard case .success(var st) = container(c) else { return .failure(fds[c] == nil ? .badFileDescriptor : .inappropriateIOCTLForDevice) }
    guard st.iommu != nil else { return .failure(.invalidArgument) }  // MAP before SET_IOMMU
    let page: UInt64 = 4096
    guard m.size > 0, m.size % page == 0, m.iova % page == 0, m.vaddr % page == 0 else { return .failure(.invalidArgument) }
    guard m.iova &+ m.size > m.iova else { return .failure(.invalidArgument) }
    guard Self.iovaWindows.contains(where: { m.iova >= $0.start && m.iova + m.size - 1 <= $0.last }) else { return .failure(.invalidArgument) }
    if st.dma.contains(where: { m.iova < $0.iova + $0.size && $0.iova < m.iova + m.size }) { return .failure(.fileExists) }
    guard st.dma.count < dmaEntryLimit else { return .failure(.noSpace) }
    guard let vma = covering(m.vaddr, m.size) else { return .failure(.badAddress) }
    let kb = Int(m.size / 1024)
    if st.compat {
      // iommufd's compat container: iopt_map_user_pages pins (pin_user_pages_fast first) only
      // when the IOAS has a domain, i.e. once a device of the group is open.
      let pins = st.openDevices > 0
      if pins, let e = policy.iommufd(vma, write: m.access == .rw) { return .failure(e) }
      let charged = pins ? kb : 0
      if overMemlock(charged) { return .failure(.noMemory) }
      st.dma.append((m.iova, m.size, charged))
      pinnedKB += charged
      if pins { migrateForLongtermPin(m.vaddr, m.size) }
    } else {
      if let e = policy.vfio(vma, write: m.access == .rw) { return .failure(e) }
      // Device-DAX pages are ZONE_DEVICE: pinned, but type1 does not charge them as locked memory.
      let charged = vma.backing == .devdax ? 0 : kb
      if overMemlock(charged) { return .failure(.noMemory) }
      st.dma.append((m.iova, m.size, charged))
      lockedKB += charged
      migrateForLongtermPin(m.vaddr, m.size)
    }
    let updated = st
    return withContainer(c) { $0 = updated; return .success(()) }
  }

  /// VFIO_IOMMU_UNMAP_DMA: removes the mappings inside the range and reports the bytes unmapped.
  mutating func unmapDMA(_ c: Int32, iova: UInt64, size: UInt64) -> Result<UInt64, Errno> {
    var freed = 0
    let r: Result<UInt64, Errno> = withContainer(c) { st in
      guard st.iommu != nil else { return .failure(.invalidArgument) }
      let inside = st.dma.filter { $0.iova >= iova && $0.iova + $0.size <= iova + size }
      st.dma.removeAll { $0.iova >= iova && $0.iova + $0.size <= iova + size }
      freed = inside.reduce(0) { $0 + $1.kb }
      return .success(inside.reduce(0) { $0 + $1.size })
    }
    if case .iommufd = fds[c] { pinnedKB -= freed } else { lockedKB -= freed }
    return r
  }

  // MARK: iommufd and the vfio cdev

  func iommufd(_ fd: Int32) -> Result<IOMMUFDState, Errno> {
    switch fds[fd] {
    case .iommufd(let st): return .success(st)
    case nil: return .failure(.badFileDescriptor)
    default: return .failure(.inappropriateIOCTLForDevice)
    }
  }

  mutating func allocIOAS(_ fd: Int32) -> Result<UInt32, Errno> {
    guard case .iommufd(var st) = fds[fd] else { return .failure(.inappropriateIOCTLForDevice) }
    let id = st.nextID
    st.nextID += 1
    st.ioas[id] = []
    fds[fd] = .iommufd(st)
    return .success(id)
  }

  mutating func bind(_ d: Int32, _ iommufd: Int32) -> Result<UInt32, Errno> {
    guard case .device(let bound, _) = fds[d] else { return .failure(.inappropriateIOCTLForDevice) }
    guard bound == nil else { return .failure(.invalidArgument) }
    guard case .iommufd = fds[iommufd] else { return .failure(.badFileDescriptor) }
    fds[d] = .device(bound: iommufd, attached: nil)
    return .success(100)
  }

  mutating func attach(_ d: Int32, _ pt: UInt32) -> Result<Void, Errno> {
    guard case .device(let bound, _) = fds[d], let fd = bound else { return .failure(.invalidArgument) }
    guard case .iommufd(var st) = fds[fd], st.ioas[pt] != nil else { return .failure(.noSuchFileOrDirectory) }
    st.attached.insert(pt)
    fds[fd] = .iommufd(st)
    fds[d] = .device(bound: fd, attached: pt)
    return .success(())
  }

  mutating func detach(_ d: Int32) -> Result<Void, Errno> {
    guard case .device(let bound, let attached) = fds[d], let fd = bound, let pt = attached else { return .failure(.invalidArgument) }
    if case .iommufd(var st) = fds[fd] {
      st.attached.remove(pt)
      fds[fd] = .iommufd(st)
    }
    fds[d] = .device(bound: fd, attached: nil)
    return .success(())
  }

  mutating func ioasMap(_ fd: Int32, _ ioas: UInt32, _ m: DMAMapping, file: Int32?) -> Result<Void, Errno> {
    guard case .iommufd(var st) = fds[fd] else { return .failure(.inappropriateIOCTLForDevice) }
    guard var maps = st.ioas[ioas] else { return .failure(.noSuchFileOrDirectory) }
    guard m.size > 0, m.iova % 4096 == 0 else { return .failure(.invalidArgument) }
    if maps.contains(where: { m.iova < $0.iova + $0.length && $0.iova < m.iova + m.size }) { return .failure(.fileExists) }
    let pins = st.attached.contains(ioas)
    if let file {
      let backing: Backing
      switch fds[file] {
      case .memfd: backing = .shmem
      case .file(let path): backing = self.backing(ofFile: path)
      case .devdax: backing = .devdax
      default: return .failure(.badFileDescriptor)
      }
      if let e = policy.mapFile(backing) { return .failure(e) }
    } else {
      guard let vma = covering(m.vaddr, m.size) else { return .failure(.badAddress) }
      // Without a domain or access the IOAS only records the range: nothing is pinned.
      if pins, let e = policy.iommufd(vma, write: m.access == .rw) { return .failure(e) }
    }
    let kb = pins ? Int(m.size / 1024) : 0
    if overMemlock(kb) { return .failure(.noMemory) }
    maps.append((m.iova, m.size, kb))
    pinnedKB += kb
    if pins && file == nil { migrateForLongtermPin(m.vaddr, m.size) }
    st.ioas[ioas] = maps
    fds[fd] = .iommufd(st)
    return .success(())
  }

  mutating func ioasUnmap(_ fd: Int32, _ ioas: UInt32, iova: UInt64, length: UInt64) -> Result<UInt64, Errno> {
    guard case .iommufd(var st) = fds[fd], var maps = st.ioas[ioas] else { return .failure(.noSuchFileOrDirectory) }
    let inside = maps.filter { $0.iova >= iova && $0.iova + $0.length <= iova + length }
    guard !inside.isEmpty else { return .failure(.noSuchFileOrDirectory) }
    maps.removeAll { $0.iova >= iova && $0.iova + $0.length <= iova + length }
    for m in inside { pinnedKB -= m.kb }
    st.ioas[ioas] = maps
    fds[fd] = .iommufd(st)
    return .success(inside.reduce(0) { $0 + $1.length })
  }

  mutating func destroy(_ fd: Int32, _ id: UInt32) -> Result<Void, Errno> {
    guard case .iommufd(var st) = fds[fd], let maps = st.ioas[id] else { return .failure(.noSuchFileOrDirectory) }
    guard !st.attached.contains(id) else { return .failure(.resourceBusy) }
    for m in maps { pinnedKB -= m.kb }
    st.ioas[id] = nil
    fds[fd] = .iommufd(st)
    return .success(())
  }

  // MARK: io_uring

  mutating func ringSetup() -> Result<FileDescriptor, Errno> {
    guard profile.hasIOUring else { return .failure(.noFunction) }
    return newFD(.ring(registered: []))
  }

  mutating func register(_ ring: Int32, _ buffers: [Mapping]) -> Result<Void, Errno> {
    guard case .ring(let current) = fds[ring] else { return .failure(fds[ring] == nil ? .badFileDescriptor : .operationNotSupportedByDevice) }
    guard current.isEmpty else { return .failure(.resourceBusy) }
    guard !buffers.isEmpty, buffers.count <= 16384 else { return .failure(.invalidArgument) }
    var kb = 0
    for b in buffers {
      guard let vma = covering(UInt64(b.address), UInt64(b.length)) else { return .failure(.badAddress) }
      if let e = policy.ioUring(vma) { return .failure(e) }
      kb += b.length / 1024
    }
    if overMemlock(kb) { return .failure(.noMemory) }
    pinnedKB += kb
    for b in buffers { migrateForLongtermPin(UInt64(b.address), UInt64(b.length)) }
    fds[ring] = .ring(registered: buffers)
    return .success(())
  }

  mutating func unregister(_ ring: Int32) -> Result<Void, Errno> {
    guard case .ring(let current) = fds[ring] else { return .failure(.badFileDescriptor) }
    guard !current.isEmpty else { return .failure(.noSuchAddressOrDevice) }
    pinnedKB -= current.reduce(0) { $0 + $1.length / 1024 }
    fds[ring] = .ring(registered: [])
    return .success(())
  }
}
