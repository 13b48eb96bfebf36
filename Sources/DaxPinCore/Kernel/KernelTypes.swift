import SystemPackage

/// A user-space mapping made by `mmap(2)`: the buffer a probe asks the kernel to pin.
public struct Mapping: Hashable, Sendable {
  public var address: UInt
  public var length: Int
  public init(address: UInt, length: Int) {
    self.address = address
    self.length = length
  }
}

/// `PROT_READ` or `PROT_READ | PROT_WRITE`.
public enum Protection: Sendable, Hashable {
  case read, readWrite
}

/// What the mapping is and where its pages come from.
public enum MappingSource: Sendable, Hashable {
  /// `MAP_PRIVATE | MAP_ANONYMOUS`, optionally `MAP_HUGETLB` (2 MiB).
  case anonymous(hugetlb: Bool)
  /// A file: `MAP_SHARED` or `MAP_PRIVATE` at `offset`.
  case file(FileDescriptor, shared: Bool, offset: Int = 0)
}

/// The parts of `statx(2)` the probe needs to confirm a memory kind and to trust a directory.
public struct FileStatus: Sendable, Equatable {
  public enum FileType: Sendable, Equatable {
    case regular, directory, characterDevice, blockDevice, symbolicLink, fifo, socket
  }
  public var type: FileType
  /// `STATX_ATTR_DAX`; nil when the kernel does not report the attribute (before 5.8).
  public var dax: Bool?
  /// `stx_uid`.
  public var owner: UInt32
  /// The permission bits (`stx_mode & 07777`).
  public var permissions: UInt32
  /// The filesystem the file lives on (`stx_dev_major:stx_dev_minor`).
  public var device: DeviceNumber
  /// `stx_mtime` in seconds.
  public var modifiedSeconds: Int64
  public init(
    type: FileType, dax: Bool?, owner: UInt32 = 0, permissions: UInt32 = 0o600, device: DeviceNumber = DeviceNumber(major: 0, minor: 0),
    modifiedSeconds: Int64 = 0
  ) {
    self.type = type
    self.dax = dax
    self.owner = owner
    self.permissions = permissions
    self.device = device
    self.modifiedSeconds = modifiedSeconds
  }
}

/// A device number, `MAJOR:MINOR`.
public struct DeviceNumber: Sendable, Hashable, CustomStringConvertible {
  public var major: UInt32
  public var minor: UInt32
  public init(major: UInt32, minor: UInt32) {
    self.major = major
    self.minor = minor
  }
  public var description: String { "\(major):\(minor)" }
}

/// A character device node: its number, the sysfs subsystem of `/sys/dev/char/MAJ:MIN`
/// (`dax` for device-DAX, `mem` for /dev/zero and /dev/null, `vfio`, `misc`), and for a
/// device-DAX device its `align` attribute in bytes.
public struct CharacterDevice: Sendable, Equatable {
  public var number: DeviceNumber
  /// nil when sysfs has no entry for the number.
  public var subsystem: String?
  public var align: Int?
  /// For a device-DAX device, its `size` attribute in bytes: how much of it can be mapped.
  public var size: Int?
  public init(number: DeviceNumber, subsystem: String?, align: Int? = nil, size: Int? = nil) {
    self.number = number
    self.subsystem = subsystem
    self.align = align
    self.size = size
  }
  public var isDeviceDAX: Bool { subsystem == "dax" }
}

/// What `statfs(2)` and the filesystem's device say about a directory.
public struct FilesystemInfo: Sendable, Equatable {
  public var magic: FilesystemMagic
  /// The filesystem sits on a block device (its `st_dev` is under `/sys/dev/block`).
  public var blockBacked: Bool
  public init(magic: FilesystemMagic, blockBacked: Bool) {
    self.magic = magic
    self.blockBacked = blockBacked
  }
  /// A filesystem whose file pages live in the page cache and are written back to a disk: on a
  /// block device, or one of the disk filesystems that report an anonymous device (btrfs).
  /// Never tmpfs, ramfs, hugetlbfs, proc, sysfs, cgroup2 or any other in-memory filesystem.
  public var isDiskBacked: Bool {
    guard !magic.isInMemory else { return false }
    return blockBacked || FilesystemMagic.diskFilesystems.contains(magic)
  }
}

/// This process, as the leftover sweep records it in a run's private directory.
public struct ProcessIdentity: Sendable, Equatable {
  public var pid: Int32
  public var effectiveUID: UInt32
  /// `/proc/<pid>/stat` field 22 (clock ticks since boot): tells a reused pid apart.
  public var startTime: UInt64
  public init(pid: Int32, effectiveUID: UInt32, startTime: UInt64) {
    self.pid = pid
    self.effectiveUID = effectiveUID
    self.startTime = startTime
  }
}

/// `statfs(2)` f_type values the probe tells apart.
public struct FilesystemMagic: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
  public var rawValue: Int64
  public init(rawValue: Int64) { self.rawValue = rawValue }
  public static let tmpfs = FilesystemMagic(rawValue: 0x0102_1994)
  public static let ramfs = FilesystemMagic(rawValue: 0x8584_58f6)
  public static let ext4 = FilesystemMagic(rawValue: 0xEF53)
  public static let xfs = FilesystemMagic(rawValue: 0x5846_5342)
  public static let btrfs = FilesystemMagic(rawValue: 0x9123_683E)
  public static let f2fs = FilesystemMagic(rawValue: 0xF2F5_2010)
  public static let hugetlbfs = FilesystemMagic(rawValue: 0x9584_58f6)
  public static let proc = FilesystemMagic(rawValue: 0x9fa0)
  public static let sysfs = FilesystemMagic(rawValue: 0x6265_6572)
  public static let cgroup2 = FilesystemMagic(rawValue: 0x6367_7270)
  public static let cgroup = FilesystemMagic(rawValue: 0x0027_e0eb)
  public static let devtmpfs = FilesystemMagic(rawValue: 0x1373)
  public static let overlayfs = FilesystemMagic(rawValue: 0x794c_7630)

  /// Disk filesystems that may report an anonymous device number (no `/sys/dev/block` entry).
  static let diskFilesystems: Set<FilesystemMagic> = [.ext4, .xfs, .btrfs, .f2fs]

  /// Filesystems whose files live in memory only: never a page-cache control.
  public var isInMemory: Bool {
    [.tmpfs, .ramfs, .hugetlbfs, .proc, .sysfs, .cgroup2, .cgroup, .devtmpfs].contains(self)
  }

  public var description: String {
    switch self {
    case .tmpfs: "tmpfs"
    case .ramfs: "ramfs"
    case .ext4: "ext4"
    case .xfs: "xfs"
    case .btrfs: "btrfs"
    case .f2fs: "f2fs"
    case .hugetlbfs: "hugetlbfs"
    case .proc: "proc"
    case .sysfs: "sysfs"
    case .cgroup2: "cgroup2"
    case .cgroup: "cgroup"
    case .devtmpfs: "devtmpfs"
    case .overlayfs: "overlayfs"
    default: "0x" + String(rawValue, radix: 16)
    }
  }
}

/// What `/proc/self/smaps` says about the VMA holding an address.
public struct VMAInfo: Sendable, Equatable {
  /// The pathname column: empty for anonymous memory, `/memfd:name (deleted)`, a file path.
  public var path: String
  /// The two-letter `VmFlags` (`rd wr sh mr mw me ms ht mm hg nh dd`).
  public var flags: [String]
  /// `AnonHugePages` in kB: how much of the VMA transparent huge pages back.
  public var anonHugePagesKB: Int
  public init(path: String, flags: [String], anonHugePagesKB: Int = 0) {
    self.path = path
    self.flags = flags
    self.anonHugePagesKB = anonHugePagesKB
  }
}

/// `madvise(2)` advice the bench gives a buffer before faulting it.
public enum MemoryAdvice: Sendable, Hashable {
  /// `MADV_HUGEPAGE`: back the range with transparent huge pages where the kernel can.
  case hugePage
  /// `MADV_NOHUGEPAGE`: 4 KiB pages only, whatever `transparent_hugepage/enabled` says.
  case noHugePage
}

/// VFIO IOMMU backends (`VFIO_SET_IOMMU` / `VFIO_CHECK_EXTENSION` arguments).
public enum VFIOIOMMUType: UInt32, Sendable, Codable {
  case type1 = 1
  case type1v2 = 3
  case noiommu = 8
}

/// `VFIO_GROUP_GET_STATUS` flags.
public struct VFIOGroupStatus: Sendable, Equatable {
  /// All devices in the group are bound to VFIO (or nothing): the group may be used.
  public var viable: Bool
  /// The group is already attached to a container.
  public var containerSet: Bool
  public init(viable: Bool, containerSet: Bool) {
    self.viable = viable
    self.containerSet = containerSet
  }
}

/// An inclusive IOVA window the IOMMU accepts.
public struct IOVARange: Sendable, Equatable, Codable {
  public var start: UInt64
  public var last: UInt64
  public init(start: UInt64, last: UInt64) {
    self.start = start
    self.last = last
  }
}

/// `VFIO_IOMMU_GET_INFO` for a type1 container.
public struct VFIOIOMMUInfo: Sendable, Equatable {
  public var ranges: [IOVARange]
  public var pageSizes: UInt64
  /// Mappings still allowed under dma_entry_limit; nil when not reported.
  public var dmaAvailable: Int64?
  public init(ranges: [IOVARange], pageSizes: UInt64, dmaAvailable: Int64?) {
    self.ranges = ranges
    self.pageSizes = pageSizes
    self.dmaAvailable = dmaAvailable
  }
}

/// One DMA mapping request: user VA (or file offset), IOVA, length and the device's access.
public struct DMAMapping: Sendable, Equatable {
  public var vaddr: UInt64
  public var iova: UInt64
  public var size: UInt64
  /// `.rw`: READ|WRITE (FOLL_WRITE); `.ro`: READ only.
  public var access: Access
  public init(vaddr: UInt64, iova: UInt64, size: UInt64, access: Access) {
    self.vaddr = vaddr
    self.iova = iova
    self.size = size
    self.access = access
  }
}

/// Pages charged to the process by long-term pins (`VmPin`, `VmLck` in /proc/self/status), in kB.
public struct PinAccounting: Sendable, Equatable {
  public var pinnedKB: Int
  public var lockedKB: Int
  public init(pinnedKB: Int, lockedKB: Int) {
    self.pinnedKB = pinnedKB
    self.lockedKB = lockedKB
  }
}
