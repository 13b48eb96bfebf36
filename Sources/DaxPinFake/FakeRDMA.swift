import DaxPinCore
import SystemPackage

/// The simulated RDMA device (soft-RoCE `rxe0`, where the topology has it) and AF_XDP sockets.
extension FakeState {
  mutating func rdmaOpen() -> Result<RDMAContext, Errno> {
    guard topology.hasRDMA else { return .failure(.operationNotSupportedByDevice) }
    let handle = nextRDMAHandle
    nextRDMAHandle += 1
    rdmaContexts.insert(handle)
    // rxe: general IBV_ODP_SUPPORT and RC SEND|RECV|WRITE|READ|ATOMIC|SRQ_RECV where it has ODP.
    let odp = profile.rxeHasODP ? RDMAODPCapabilities(general: RDMAODPCapabilities.support, rc: 0x3f) : .none
    return .success(RDMAContext(handle: handle, device: "rxe0", odp: odp))
  }

  /// ibv_reg_mr → ib_uverbs reg_user_mr → rxe_mr_init_user (ib_umem_get) or, with ON_DEMAND,
  /// rxe_odp_mr_init_user (ib_umem_odp_get).
  mutating func rdmaRegisterMR(_ c: RDMAContext, _ m: Mapping, access: RDMAAccess) -> Result<RDMAMemoryRegion, Errno> {
    guard rdmaContexts.contains(c.handle) else { return .failure(.invalidArgument) }
    guard let vma = covering(UInt64(m.address), UInt64(m.length)) else { return .failure(.badAddress) }
    var kb = 0
    if access.contains(.onDemand) {
      guard c.odp.general & RDMAODPCapabilities.support != 0 else { return .failure(.notSupported) }
      if let e = policy.rdmaOnDemand(vma, access: access) { return .failure(e) }
    } else {
      if let e = policy.rdma(vma, access: access) { return .failure(e) }
      kb = m.length / 1024
      if overMemlock(kb) { return .failure(.noMemory) }
      // ib_umem_get: pin_user_pages_fast(FOLL_LONGTERM), which migrates movable pages first.
      migrateForLongtermPin(UInt64(m.address), UInt64(m.length))
    }
    let handle = nextRDMAHandle
    nextRDMAHandle += 1
    rdmaRegions[handle] = kb
    pinnedKB += kb
    return .success(RDMAMemoryRegion(handle: handle, lkey: UInt32(truncatingIfNeeded: handle)))
  }

  mutating func rdmaDeregisterMR(_ mr: RDMAMemoryRegion) -> Result<Void, Errno> {
    guard let kb = rdmaRegions.removeValue(forKey: mr.handle) else { return .failure(.invalidArgument) }
    pinnedKB -= kb
    return .success(())
  }

  mutating func rdmaClose(_ c: RDMAContext) {
    precondition(rdmaContexts.remove(c.handle) != nil, "ibv_close_device of a context the fake never opened")
  }

  mutating func xdpSocket() -> Result<FileDescriptor, Errno> { newFD(.xdpSocket(umemKB: nil)) }

  /// xsk_setsockopt(XDP_UMEM_REG) → xdp_umem_reg: chunk size and alignment checks, then
  /// xdp_umem_pin_pages. Charged to the user's locked_vm, never to the process's VmPin or VmLck.
  mutating func xdpRegisterUMEM(_ fd: Int32, _ m: Mapping, chunkSize: UInt32) -> Result<Void, Errno> {
    guard case .xdpSocket(let current) = fds[fd] else { return .failure(fds[fd] == nil ? .badFileDescriptor : .notSocket) }
    guard current == nil else { return .failure(.resourceBusy) }
    guard chunkSize >= 2048, chunkSize <= 4096, chunkSize & (chunkSize - 1) == 0, m.address % 4096 == 0 else {
      return .failure(.invalidArgument)
    }
    guard let vma = covering(UInt64(m.address), UInt64(m.length)) else { return .failure(.badAddress) }
    let kb = m.length / 1024
    if overMemlock(kb) { return .failure(.noBufferSpace) }
    if let e = policy.afXDP(vma) { return .failure(e) }
    // xdp_umem_pin_pages: pin_user_pages(FOLL_WRITE | FOLL_LONGTERM), movable pages migrated first.
    migrateForLongtermPin(UInt64(m.address), UInt64(m.length))
    fds[fd] = .xdpSocket(umemKB: kb)
    return .success(())
  }
}

extension PinPolicy {
  /// ib_umem_get: pin_user_pages_fast with FOLL_LONGTERM; FOLL_WRITE for a writable region, and
  /// before 6.2 for every region (FOLL_FORCE added when the region is read-only).
  func rdma(_ m: FakeMapping, access: RDMAAccess) -> Errno? {
    let force = !access.writable && !profile.rdmaPinsReadOnlyForReading
    let write = access.writable || force
    if fastPathPins(m, write: write) { return nil }
    // FOLL_FORCE lets a write through a read-only private (COW) mapping, never a shared one, and
    // from 6.0 never a hugetlb one.
    let forceRefused = m.shared || (m.backing == .hugetlb && profile.refusesForcedHugetlbWrites)
    let writeRefused = write && !m.writable && (!force || forceRefused)
    if profile.checksFsdaxBeforePinning {
      if m.backing == .fsdax { return .notSupported }
      if writeRefused { return .badAddress }
    } else {
      if writeRefused { return .badAddress }
      if m.backing == .fsdax { return .notSupported }
    }
    return writableFileRule(m, write: write)
  }

  /// ib_umem_odp_get takes no pin; rxe faults the range in at registration (hmm_range_fault),
  /// which refuses a write fault on a read-only mapping.
  func rdmaOnDemand(_ m: FakeMapping, access: RDMAAccess) -> Errno? {
    access.writable && !m.writable ? .badAddress : nil
  }

  /// xdp_umem_pin_pages: pin_user_pages (the slow path) with FOLL_WRITE | FOLL_LONGTERM.
  func afXDP(_ m: FakeMapping) -> Errno? {
    if profile.checksFsdaxBeforePinning {
      if m.backing == .fsdax { return .notSupported }
      if !m.writable { return .badAddress }
    } else {
      if !m.writable { return .badAddress }
      if m.backing == .fsdax { return .notSupported }
    }
    return writableFileRule(m, write: true)
  }
}
