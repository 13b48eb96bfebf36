import DaxPinCore
import SystemPackage

/// How a profile's kernel answers a FOLL_LONGTERM pin of one mapping, modelled on the paths the
/// real kernels take (mm/gup.c, vfio_iommu_type1, io_uring/rsrc.c, iommufd/pages.c), version by
/// version. Held to the lab's reports by the contract tests.
struct PinPolicy {
  let profile: KernelProfile

  /// VFIO type1: `pin_user_pages_remote`, the slow path, which always checks the VMA.
  func vfio(_ m: FakeMapping, write: Bool) -> Errno? {
    if write && !m.writable { return .badAddress }
    if m.backing == .fsdax { return profile.refusesFsdaxInVFIO ? .notSupported : nil }
    return writableFileRule(m, write: write)
  }

  /// io_uring IORING_REGISTER_BUFFERS: always FOLL_WRITE.
  func ioUring(_ m: FakeMapping) -> Errno? {
    if profile.refusesWritableFilePins {
      // 6.5+: pin_user_pages_fast first; file-backed pages other than shmem fall to the slow path.
      if fastPathPins(m, write: true) { return nil }
      return slowPath(m, write: true)
    }
    if !profile.checksFsdaxBeforePinning {
      // 5.10: the pin happens first (FOLL_WRITE needs a writable VMA), then check_dax_vmas.
      if !m.writable { return .badAddress }
      if m.backing == .fsdax { return .notSupported }
    } else {
      // 5.11-6.4: check_vma_flags tests fsdax before write permission.
      if m.backing == .fsdax { return .notSupported }
      if !m.writable { return .badAddress }
    }
    // io_uring's own VMA scan before 6.5: file-backed memory other than shmem and hugetlbfs.
    if m.backing == .pagecache || m.backing == .devdax { return .notSupported }
    return nil
  }

  /// iommufd IOMMU_IOAS_MAP: pin_user_pages_fast with FOLL_LONGTERM (+FOLL_WRITE for writable maps).
  func iommufd(_ m: FakeMapping, write: Bool) -> Errno? {
    if fastPathPins(m, write: write) { return nil }
    return slowPath(m, write: write)
  }

  /// IOMMU_IOAS_MAP_FILE: memfd_pin_folios takes shmem and hugetlbfs files only.
  func mapFile(_ backing: Backing) -> Errno? {
    backing == .shmem || backing == .hugetlb ? nil : .invalidArgument
  }

  /// GUP-fast pins present pages it may pin without the VMA: anonymous (and the anonymous copies
  /// in a written private mapping), shmem and hugetlb; never ZONE_DEVICE pages.
  func fastPathPins(_ m: FakeMapping, write: Bool) -> Bool {
    guard m.faulted, !write || m.writable else { return false }
    switch m.backing {
    case .anon, .hugetlb, .shmem: return true
    case .fsdax, .pagecache: return m.copiedOnWrite
    case .devdax: return false
    }
  }

  /// check_vma_flags order: fsdax (EOPNOTSUPP), write permission (EFAULT), the 6.5 file rule.
  private func slowPath(_ m: FakeMapping, write: Bool) -> Errno? {
    if m.backing == .fsdax { return .notSupported }
    if write && !m.writable { return .badAddress }
    return writableFileRule(m, write: write)
  }

  /// 6.5+: FOLL_LONGTERM|FOLL_WRITE of a shared file mapping that needs dirty tracking.
  func writableFileRule(_ m: FakeMapping, write: Bool) -> Errno? {
    profile.refusesWritableFilePins && write && m.shared && m.backing == .pagecache ? .badAddress : nil
  }
}
