import DaxPinCore

/// A kernel the fake simulates. A profile is trusted only for what a real kernel of that version
/// showed in the lab (`labVerified`): the contract tests hold each one to the lab's Debian report
/// cell by cell. `linux-4.14` predates the 2018 fix and shows what UNSAFE looks like.
public enum KernelProfile: String, CaseIterable, Sendable {
  case linux4_14 = "linux-4.14"
  case linux5_10 = "linux-5.10"
  case linux6_1 = "linux-6.1"
  case linux6_12 = "linux-6.12"
  case linuxLatest = "linux-latest"
  /// 7.3 built by `daxpin lab --kernel source:7.3`: IOMMUFD, the compat container and vfio cdev.
  case linux7_3IOMMUFD = "linux-7.3-iommufd"

  public var version: KernelVersion {
    switch self {
    case .linux4_14: KernelVersion(4, 14, 0)
    case .linux5_10: KernelVersion(5, 10, 223)
    case .linux6_1: KernelVersion(6, 1, 176)
    case .linux6_12: KernelVersion(6, 12, 107)
    case .linuxLatest, .linux7_3IOMMUFD: KernelVersion(7, 3, 4)
    }
  }

  /// The Debian kernel whose lab report this profile must equal; nil for linux-4.14.
  public var labKernel: String? {
    switch self {
    case .linux4_14: nil
    case .linux5_10: "debian-5.10"
    case .linux6_1: "debian-6.1"
    case .linux6_12: "debian-6.12"
    case .linuxLatest: "debian-latest"
    case .linux7_3IOMMUFD: "source-7.3"
    }
  }
  public var labVerified: Bool { labKernel != nil }

  public init?(labKernel: String) {
    guard let p = Self.allCases.first(where: { $0.labKernel == labKernel }) else { return nil }
    self = p
  }

  /// `uname -r` of the simulated kernel.
  public var release: String { "\(version.major).\(version.minor).\(version.patch)-daxpin-fake" }

  /// io_uring arrived in 5.1.
  public var hasIOUring: Bool { version >= KernelVersion(5, 1) }
  /// Debian builds every kernel without CONFIG_IOMMUFD; the lab's source build has it.
  public var hasIOMMUFD: Bool { self == .linux7_3IOMMUFD }
  /// `vfio: disable filesystem-dax page pinning` (4.16, 2018).
  var refusesFsdaxInVFIO: Bool { version >= KernelVersion(4, 16) }
  /// 5.11 moved the fsdax test into check_vma_flags, before any page is pinned.
  var checksFsdaxBeforePinning: Bool { version >= KernelVersion(5, 11) }
  /// "mm/gup: migrate pinned pages out of movable zone" (d1e153fea2a8, 5.13): FOLL_LONGTERM
  /// moves ZONE_MOVABLE pages out before pinning them; before it only CMA pages moved.
  var migratesMovableOnLongtermPin: Bool { version >= KernelVersion(5, 13) }
  /// A truncate of a DAX file waits while a page of it is referenced (dax_layout_busy_page with
  /// ext4_break_layouts / xfs_break_dax_layouts, 4.18-4.19).
  var waitsForHeldDAXPages: Bool { version >= KernelVersion(4, 19) }
  /// 6.5: writable long-term pins of file mappings that need dirty tracking are refused
  /// (EFAULT), io_uring hands its file check to GUP and pins with pin_user_pages_fast.
  var refusesWritableFilePins: Bool { version >= KernelVersion(6, 5) }

  /// Soft-RoCE (rdma_rxe) reports on-demand paging for RC: `RDMA/rxe: Add support for ODP` and
  /// its RC operations, merged for 6.16.
  var rxeHasODP: Bool { version >= KernelVersion(6, 16) }
  /// 6.2, "RDMA/umem: remove FOLL_FORCE usage": ib_umem_get asks FOLL_WRITE only for writable
  /// regions; before, every region was pinned FOLL_WRITE, read-only ones with FOLL_FORCE.
  var rdmaPinsReadOnlyForReading: Bool { version >= KernelVersion(6, 2) }
  /// 6.0, "mm/gup: disallow FOLL_FORCE|FOLL_WRITE on hugetlb mappings": check_vma_flags EFAULT.
  var refusesForcedHugetlbWrites: Bool { version >= KernelVersion(6, 0) }

  /// The CONFIG_* options of the simulated kernel, as Debian sets them.
  var config: [String: String] {
    var c = [
      "CONFIG_ZONE_DEVICE": "y", "CONFIG_LIBNVDIMM": "m", "CONFIG_BLK_DEV_PMEM": "m", "CONFIG_X86_PMEM_LEGACY": "m",
      "CONFIG_ACPI_NFIT": "m", "CONFIG_FS_DAX": "y", "CONFIG_DEV_DAX": "m", "CONFIG_DEV_DAX_PMEM": "m",
      "CONFIG_TRANSPARENT_HUGEPAGE": "y", "CONFIG_HUGETLBFS": "y", "CONFIG_VFIO": "m", "CONFIG_VFIO_IOMMU_TYPE1": "m",
      "CONFIG_VFIO_PCI": "m", "CONFIG_VFIO_NOIOMMU": "y", "CONFIG_IOMMUFD": "n", "CONFIG_INTEL_IOMMU": "y",
      "CONFIG_AMD_IOMMU": "y", "CONFIG_GUP_TEST": "n",
    ]
    c["CONFIG_IO_URING"] = hasIOUring ? "y" : nil
    if hasIOMMUFD {
      for o in ["CONFIG_IOMMUFD", "CONFIG_IOMMUFD_VFIO_CONTAINER", "CONFIG_VFIO_DEVICE_CDEV", "CONFIG_IOMMUFD_TEST", "CONFIG_GUP_TEST"] { c[o] = "y" }
    }
    return c
  }
}

/// What the simulated host has.
public enum FakeTopology: String, CaseIterable, Sendable {
  /// fsdax ext4 and xfs mounts, a devdax device, a VFIO group with one device: the lab guest.
  case full = "fsdax+devdax+vfio"
  case devdaxOnly = "devdax-only"
  case noPmem = "no-pmem"
  case noVFIO = "no-vfio"

  var hasFsdax: Bool { self == .full || self == .noVFIO }
  var hasDevdax: Bool { self != .noPmem }
  var hasVFIO: Bool { self != .noVFIO }
  /// The lab guest's soft-RoCE device (`rxe0` on a dummy netdev); the other topologies have none.
  var hasRDMA: Bool { self == .full }
}

extension FakeTopology {
  /// The simulated host of a lab run in `mode`: the memory kinds its namespaces give
  /// (`LabLayout.namespaceModes`) and the guest's VFIO group. Every mode's guest has fsdax on
  /// ext4 and xfs and a devdax device, so every mode is `.full`; the topology follows the layout
  /// should a mode ever offer less.
  public init(lab mode: PmemMode, layout: LabLayout = .standard) {
    let fsdax = layout.namespaceModes.filter { $0 == "fsdax" }.count >= 2
    let devdax = layout.namespaceModes.contains("devdax")
    self = fsdax && devdax ? .full : devdax ? .devdaxOnly : .noPmem
  }
}
