/// A virtual machine's configuration as `daxpin check` sees it: the memory regions the VFIO (or
/// iommufd) memory listener will DMA-map, and the devices passed through. Read from a QEMU command
/// line (`QEMUConfigReader`), libvirt domain XML (`LibvirtDomainReader`) or a cloud-hypervisor
/// command line (`CloudHypervisorConfigReader`); judged by `CheckRun`.
public struct VMConfig: Sendable, Equatable {
  public var dialect: VMMDialect
  /// The domain's `<name>`, QEMU's `-name`; nil when the configuration has none.
  public var name: String?
  /// In guest-address order as the VMM lays them out: RAM first, then memory devices.
  public var regions: [MemoryRegion]
  public var devices: [PassthroughDevice]
  /// Facts about the configuration as a whole (an unused backend, hotplug capacity).
  public var notes: [String]

  public init(dialect: VMMDialect, name: String? = nil, regions: [MemoryRegion] = [], devices: [PassthroughDevice] = [], notes: [String] = []) {
    self.dialect = dialect
    self.name = name
    self.regions = regions
    self.devices = devices
    self.notes = notes
  }

  /// The paths that take the pins: the VFIO container for devices without iommufd, iommufd for
  /// the others. Empty when nothing is passed through.
  public var paths: [PassthroughPath] {
    PassthroughPath.allCases.filter { p in devices.contains { $0.path == p } }
  }
}

/// Whose configuration it is: fixes are spelled in its terms (`share=off`, `<access
/// mode='private'/>`, `shared=off`).
public enum VMMDialect: String, Codable, Sendable, CaseIterable {
  case qemu
  case libvirt
  case cloudHypervisor = "cloud-hypervisor"
}

/// What a region is to the guest.
public enum RegionRole: String, Codable, Sendable {
  /// Boot RAM: `-machine memory-backend=`, QEMU's default RAM, libvirt's `<memory>`,
  /// cloud-hypervisor's `--memory` and `--memory-zone`.
  case ram
  /// The RAM of one NUMA node (`-numa node,memdev=`, `<numa><cell>`).
  case numaNode = "numa-node"
  case dimm
  case nvdimm
  case virtioMem = "virtio-mem"
  case virtioPmem = "virtio-pmem"
}

/// Where a region's pages come from, as configured (not yet looked up on the host).
public enum RegionBacking: Sendable, Equatable {
  /// Anonymous memory (`memory-backend-ram`, QEMU's default RAM, cloud-hypervisor without
  /// `shared=on`): `MAP_PRIVATE|MAP_ANONYMOUS`, or shmem when the region is shared.
  case anonymous
  /// `memfd_create`, with `MFD_HUGETLB` when `hugetlb`.
  case memfd(hugetlb: Bool)
  /// A file, or a directory in which the VMM creates its own file (QEMU `mem-path=DIR`,
  /// cloud-hypervisor `file=DIR`, libvirt's per-domain directory).
  case file(path: String)
  /// A file the VMM creates in a hugetlbfs directory (libvirt `<hugepages/>`).
  case hugetlbfs(directory: String)
  /// `memory-backend-shm`: `shm_open`, a file on /dev/shm.
  case posixSharedMemory
}

/// One guest memory region.
public struct MemoryRegion: Sendable, Equatable {
  /// The backend's id (`m0`, `pc.ram`, `ram-node0`, `nvdimm0`, `mem0`).
  public var id: String
  public var role: RegionRole
  /// The option or element that declared it, as messages quote it
  /// (`-object memory-backend-file,id=m0`, `<memory model='nvdimm'>`).
  public var declaredBy: String
  public var size: UInt64
  public var backing: RegionBacking
  /// `MAP_SHARED` (true) or `MAP_PRIVATE`.
  public var shared: Bool
  /// The guest sees ROM: the listener maps it read-only (no FOLL_WRITE).
  public var readOnly: Bool
  /// QEMU `align=`, libvirt `<alignsize>`: the mapping's alignment; nil when not given.
  public var align: UInt64?
  /// QEMU `pmem=on`, libvirt `<pmem/>`: the VMM asks for `MAP_SYNC`.
  public var pmem: Bool
  /// Every page is touched before the guest runs (`prealloc=on`); a private file mapping is
  /// then made of written, anonymous copies.
  public var prealloc: Bool
  /// virtio-mem: the block the device plugs at a time (each a DMA mapping of its own).
  public var blockSize: UInt64?
  /// The VMM DMA-maps this region for its devices. False for cloud-hypervisor's `--pmem`,
  /// which is mapped into the guest but not into the IOMMU.
  public var dmaMapped: Bool
  public var notes: [String]

  public init(
    id: String, role: RegionRole, declaredBy: String, size: UInt64, backing: RegionBacking, shared: Bool, readOnly: Bool = false,
    align: UInt64? = nil, pmem: Bool = false, prealloc: Bool = false, blockSize: UInt64? = nil, dmaMapped: Bool = true, notes: [String] = []
  ) {
    self.id = id
    self.role = role
    self.declaredBy = declaredBy
    self.size = size
    self.backing = backing
    self.shared = shared
    self.readOnly = readOnly
    self.align = align
    self.pmem = pmem
    self.prealloc = prealloc
    self.blockSize = blockSize
    self.dmaMapped = dmaMapped
    self.notes = notes
  }

  /// The pin asks for write access unless the region is read-only to the guest.
  public var access: Access { readOnly ? .ro : .rw }

  /// The path the configuration names, if any.
  public var path: String? {
    switch backing {
    case .file(let p): p
    case .hugetlbfs(let d): d
    case .posixSharedMemory: ProbeRequest.defaultTmpfsDirectory
    case .anonymous, .memfd: nil
    }
  }
}

/// How a passed-through device reaches the IOMMU.
public enum PassthroughPath: String, Codable, Sendable, CaseIterable, Comparable {
  /// A VFIO container (`/dev/vfio/vfio`): type1v2, or iommufd's compat container where the
  /// kernel provides `/dev/vfio/vfio` through iommufd.
  case container
  /// `/dev/iommu` and the device's vfio cdev (`-object iommufd`, `<driver iommufd='yes'/>`).
  case iommufd

  public static func < (a: Self, b: Self) -> Bool { a == .container && b == .iommufd }
}

/// A device passed through with VFIO.
public struct PassthroughDevice: Sendable, Equatable, Codable {
  /// `0000:00:03.0`, an mdev UUID, or what the configuration names (`fd=5`).
  public var address: String
  public var path: PassthroughPath
  /// A mediated device: type1 gives it no IOMMU domain, and pins only what its vendor driver
  /// asks for, not all guest RAM up front.
  public var mdev: Bool
  public var declaredBy: String

  public init(address: String, path: PassthroughPath, mdev: Bool = false, declaredBy: String) {
    self.address = address
    self.path = path
    self.mdev = mdev
    self.declaredBy = declaredBy
  }

  enum CodingKeys: String, CodingKey {
    case address, path, mdev
    case declaredBy = "declared_by"
  }
}

/// A configuration `daxpin check` cannot read: one line naming the option or element, and the
/// exit status (64 malformed, 2 unreadable or failed).
public enum CheckProblem: Error, Equatable, CustomStringConvertible {
  /// The configuration is malformed: exit 64.
  case malformed(String)
  /// The input could not be read (its errno named), or the tool failed: exit 2.
  case failed(String)
  /// `--probe` was interrupted by a signal; everything was released.
  case interrupted(signal: Int32)

  public var description: String {
    switch self {
    case .malformed(let s), .failed(let s): s
    case .interrupted(let signal): "interrupted by signal \(signal); everything the probe mapped, registered, opened or created was released"
    }
  }

  public var exitCode: Int32 {
    switch self {
    case .malformed: 64
    case .failed: 2
    case .interrupted(let signal): 128 + signal
    }
  }
}
