/// What a host offers for long-term DMA pins: the inventory object of the report.
/// Absent facts are omitted from JSON (optionals), arrays are always arrays.
public struct Inventory: Codable, Sendable, Equatable {
  public var kernel: KernelInfo
  public var privileges: Privileges
  public var iommu: IOMMUInfo
  public var vfio: VFIOInfo
  public var iommufd: IOMMUFDInfo
  public var ioUring: IOUringInfo
  public var pmem: PmemInfo
  public var daxMounts: [DaxMount]
  public var hugetlb: [HugetlbPool]

  public init(
    kernel: KernelInfo, privileges: Privileges, iommu: IOMMUInfo, vfio: VFIOInfo,
    iommufd: IOMMUFDInfo, ioUring: IOUringInfo, pmem: PmemInfo, daxMounts: [DaxMount],
    hugetlb: [HugetlbPool]
  ) {
    self.kernel = kernel
    self.privileges = privileges
    self.iommu = iommu
    self.vfio = vfio
    self.iommufd = iommufd
    self.ioUring = ioUring
    self.pmem = pmem
    self.daxMounts = daxMounts
    self.hugetlb = hugetlb
  }

  enum CodingKeys: String, CodingKey {
    case kernel, privileges, iommu, vfio, iommufd, pmem, hugetlb
    case ioUring = "io_uring"
    case daxMounts = "dax_mounts"
  }
}

/// The running kernel: `uname`, `/proc/cmdline` and the CONFIG_* options that decide pinning.
public struct KernelInfo: Codable, Sendable, Equatable {
  public var release: String
  public var version: String?
  public var machine: String?
  public var cmdline: String?
  /// Where the config came from: `/proc/config.gz`, `/boot/config-<release>`, or `unknown`.
  public var configSource: String
  /// `CONFIG_X` → `y` / `m` / `n` (`# CONFIG_X is not set`) or a value; options the kernel
  /// does not know are left out. Omitted when the config could not be read.
  public var config: [String: String]?

  public init(
    release: String, version: String? = nil, machine: String? = nil, cmdline: String? = nil,
    configSource: String = "unknown", config: [String: String]? = nil
  ) {
    self.release = release
    self.version = version
    self.machine = machine
    self.cmdline = cmdline
    self.configSource = configSource
    self.config = config
  }

  /// The options daxpin reads, in the order it prints them.
  public static let relevantOptions: [String] = [
    "CONFIG_ZONE_DEVICE", "CONFIG_LIBNVDIMM", "CONFIG_BLK_DEV_PMEM", "CONFIG_X86_PMEM_LEGACY",
    "CONFIG_ACPI_NFIT", "CONFIG_FS_DAX", "CONFIG_FS_DAX_PMD", "CONFIG_DEV_DAX", "CONFIG_DEV_DAX_PMEM",
    "CONFIG_DEV_DAX_KMEM", "CONFIG_DEV_DAX_HMEM", "CONFIG_TRANSPARENT_HUGEPAGE", "CONFIG_HUGETLBFS",
    "CONFIG_VFIO", "CONFIG_VFIO_CONTAINER", "CONFIG_VFIO_GROUP", "CONFIG_VFIO_IOMMU_TYPE1",
    "CONFIG_VFIO_NOIOMMU", "CONFIG_VFIO_PCI", "CONFIG_VFIO_DEVICE_CDEV", "CONFIG_IOMMUFD",
    "CONFIG_IOMMUFD_VFIO_CONTAINER", "CONFIG_IOMMUFD_TEST", "CONFIG_INTEL_IOMMU", "CONFIG_AMD_IOMMU",
    "CONFIG_IO_URING", "CONFIG_GUP_TEST",
  ]

  /// The value of an option: nil when the config is unknown or does not mention it.
  public func option(_ name: String) -> String? { config?[name] }
  /// True when the option is built in or a module.
  public func isEnabled(_ name: String) -> Bool? {
    guard config != nil else { return nil }
    let v = option(name)
    return v == "y" || v == "m"
  }

  /// `major.minor` parsed from the release (`6.1.0-28-amd64` → 6.1).
  public var version2: KernelVersion? { KernelVersion(release: release) }

  enum CodingKeys: String, CodingKey {
    case release, version, machine, cmdline, config
    case configSource = "config_source"
  }
}

/// A kernel release's `major.minor.patch`, for version-fallback rules.
public struct KernelVersion: Comparable, Sendable, CustomStringConvertible, Hashable {
  public var major: Int, minor: Int, patch: Int
  public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
    self.major = major
    self.minor = minor
    self.patch = patch
  }
  public init?(release: String) {
    let head = release.prefix { $0.isNumber || $0 == "." }
    let parts = head.split(separator: ".").compactMap { Int($0) }
    guard parts.count >= 2 else { return nil }
    self.init(parts[0], parts[1], parts.count > 2 ? parts[2] : 0)
  }
  public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
  public var description: String { "\(major).\(minor)" }
}

/// Who daxpin runs as, and the locked-memory budget long-term pins are charged to.
public struct Privileges: Codable, Sendable, Equatable {
  public var uid: UInt32
  /// CAP_IPC_LOCK in the effective set: pins are not charged to RLIMIT_MEMLOCK.
  public var capIPCLock: Bool
  /// RLIMIT_MEMLOCK in bytes; omitted when unlimited.
  public var memlockSoftBytes: UInt64?
  public var memlockHardBytes: UInt64?
  public var isRoot: Bool { uid == 0 }

  public init(uid: UInt32, capIPCLock: Bool, memlockSoftBytes: UInt64?, memlockHardBytes: UInt64?) {
    self.uid = uid
    self.capIPCLock = capIPCLock
    self.memlockSoftBytes = memlockSoftBytes
    self.memlockHardBytes = memlockHardBytes
  }
  enum CodingKeys: String, CodingKey {
    case uid
    case capIPCLock = "cap_ipc_lock"
    case memlockSoftBytes = "memlock_soft_bytes"
    case memlockHardBytes = "memlock_hard_bytes"
  }
}

/// IOMMU hardware units (`/sys/class/iommu`) and groups (`/sys/kernel/iommu_groups`).
public struct IOMMUInfo: Codable, Sendable, Equatable {
  public var units: [IOMMUUnit]
  public var groups: [IOMMUGroup]
  public init(units: [IOMMUUnit] = [], groups: [IOMMUGroup] = []) {
    self.units = units
    self.groups = groups
  }
  /// The driver of the first unit (`intel-iommu`, `amd-iommu`), if any.
  public var driver: String? { units.first?.driver }
}

public struct IOMMUUnit: Codable, Sendable, Equatable {
  public var name: String
  public var driver: String
  public init(name: String, driver: String) {
    self.name = name
    self.driver = driver
  }
}

/// An IOMMU group: the unit of isolation VFIO hands to user space.
public struct IOMMUGroup: Codable, Sendable, Equatable {
  public var id: Int
  /// The default domain type (`DMA`, `DMA-FQ`, `identity`, `blocked`).
  public var type: String?
  public var devices: [IOMMUGroupDevice]
  public init(id: Int, type: String? = nil, devices: [IOMMUGroupDevice] = []) {
    self.id = id
    self.type = type
    self.devices = devices
  }
}

public struct IOMMUGroupDevice: Codable, Sendable, Equatable {
  /// The device name on its bus (`0000:00:03.0`, or an mdev UUID).
  public var address: String
  /// The bus it sits on (`pci`, `mdev`, `platform`).
  public var bus: String?
  /// The bound driver (`vfio-pci`, `nvme`); omitted when unbound.
  public var driver: String?
  /// The device's vfio cdev (`/dev/vfio/devices/vfio0`) when bound to VFIO on a 6.6+ kernel.
  public var vfioCdev: String?
  public init(address: String, bus: String? = nil, driver: String? = nil, vfioCdev: String? = nil) {
    self.address = address
    self.bus = bus
    self.driver = driver
    self.vfioCdev = vfioCdev
  }
  enum CodingKeys: String, CodingKey {
    case address, bus, driver
    case vfioCdev = "vfio_cdev"
  }
}

/// The VFIO character devices and module parameters.
public struct VFIOInfo: Codable, Sendable, Equatable {
  /// `/dev/vfio/vfio` exists.
  public var container: Bool
  /// Group nodes under `/dev/vfio` (`7`, `noiommu-0`).
  public var groups: [VFIOGroupNode]
  /// Device cdevs under `/dev/vfio/devices` (`vfio0`).
  public var deviceCdevs: [String]
  /// `vfio.enable_unsafe_noiommu_mode`; omitted when the module parameter is absent.
  public var noiommuMode: Bool?
  /// `vfio_iommu_type1.dma_entry_limit`; omitted when the module is not loaded.
  public var dmaEntryLimit: Int?

  public init(
    container: Bool = false, groups: [VFIOGroupNode] = [], deviceCdevs: [String] = [],
    noiommuMode: Bool? = nil, dmaEntryLimit: Int? = nil
  ) {
    self.container = container
    self.groups = groups
    self.deviceCdevs = deviceCdevs
    self.noiommuMode = noiommuMode
    self.dmaEntryLimit = dmaEntryLimit
  }
  enum CodingKeys: String, CodingKey {
    case container, groups
    case deviceCdevs = "device_cdevs"
    case noiommuMode = "noiommu_mode"
    case dmaEntryLimit = "dma_entry_limit"
  }
}

/// A `/dev/vfio/<N>` or `/dev/vfio/noiommu-<N>` group node.
public struct VFIOGroupNode: Codable, Sendable, Equatable {
  public var id: Int
  public var node: String
  public var noiommu: Bool
  public init(id: Int, node: String, noiommu: Bool) {
    self.id = id
    self.node = node
    self.noiommu = noiommu
  }
}

/// `/dev/iommu`: the iommufd character device (CONFIG_IOMMUFD).
public struct IOMMUFDInfo: Codable, Sendable, Equatable {
  public var present: Bool
  public init(present: Bool) { self.present = present }
}

/// io_uring: whether `io_uring_setup` works here and the `kernel.io_uring_disabled` sysctl.
public struct IOUringInfo: Codable, Sendable, Equatable {
  public var available: Bool
  /// 0 enabled, 1 only for the io_uring_group, 2 disabled (6.6+); omitted before 6.6.
  public var disabledSysctl: Int?
  /// Why io_uring_setup failed (`ENOSYS`, `EPERM`); omitted when it worked.
  public var setupErrno: String?
  public init(available: Bool, disabledSysctl: Int? = nil, setupErrno: String? = nil) {
    self.available = available
    self.disabledSysctl = disabledSysctl
    self.setupErrno = setupErrno
  }
  enum CodingKeys: String, CodingKey {
    case available
    case disabledSysctl = "io_uring_disabled"
    case setupErrno = "setup_errno"
  }
}

/// A filesystem mounted with a DAX option, and whether statx sees DAX on its root.
public struct DaxMount: Codable, Sendable, Equatable {
  public var mountPoint: String
  public var source: String
  public var fstype: String
  /// The mount option as written: `dax`, `dax=always`, `dax=inode`.
  public var daxOption: String
  /// STATX_ATTR_DAX on the mount root; omitted when statx failed or lacks the attribute. ext4 and
  /// xfs set it on regular files only, so a directory reads false even on a DAX mount.
  public var statxDax: Bool?
  public init(mountPoint: String, source: String, fstype: String, daxOption: String, statxDax: Bool? = nil) {
    self.mountPoint = mountPoint
    self.source = source
    self.fstype = fstype
    self.daxOption = daxOption
    self.statxDax = statxDax
  }
  enum CodingKeys: String, CodingKey {
    case source, fstype
    case mountPoint = "mount_point"
    case daxOption = "dax_option"
    case statxDax = "statx_dax"
  }
}

/// A hugetlb pool (`/sys/kernel/mm/hugepages/hugepages-<size>kB`).
public struct HugetlbPool: Codable, Sendable, Equatable {
  public var pageSizeKB: Int
  public var total: Int
  public var free: Int
  public init(pageSizeKB: Int, total: Int, free: Int) {
    self.pageSizeKB = pageSizeKB
    self.total = total
    self.free = free
  }
  enum CodingKeys: String, CodingKey {
    case total, free
    case pageSizeKB = "page_size_kb"
  }
}
