/// What the lab guest builds and the fake host simulates, written down once: `DaxPinLab` writes
/// the guest's configuration (`/etc/daxpin-lab.conf`, QEMU's device address, brd's size) from
/// it, and `DaxPinFake` builds its topology from it, so the two cannot drift apart.
public struct LabLayout: Sendable, Equatable {
  /// Mount points of the ext4 and xfs filesystems mounted `-o dax` on the first two regions.
  public var fsdaxExt4 = "/mnt/fsdax-ext4"
  public var fsdaxXfs = "/mnt/fsdax-xfs"
  /// The page-cache control: ext4 on a brd ramdisk (a block device, not shmem).
  public var pagecache = "/mnt/pagecache"
  /// brd's size in KiB (`brd.rd_size`).
  public var brdKiB = 131_072
  /// pmem regions, in order: fsdax (ext4), fsdax (xfs), devdax, and a devdax device the guest
  /// converts to System RAM onlined movable (`devdax-kmem`). The fourth is a region of its own:
  /// on 5.10 a device-DAX that VFIO has mapped can no longer be reconfigured.
  public var regions = 4
  /// The NUMA node the converted memory joins: a node of its own (QEMU's `-numa`), so nothing
  /// but a buffer bound to it allocates from its ZONE_MOVABLE.
  public var kmemNode = 1
  /// Each region's usable size in MiB (mkfs.xfs wants more than 300 MB).
  public var regionMiB = 512
  /// The namespace and device-DAX alignment (`ndctl create-namespace -a`).
  public var align = 2 << 20
  /// 2 MiB huge pages reserved in the guest (`vm.nr_hugepages`).
  public var hugepages = 16
  /// The PCI slot QEMU puts the spare `edu` device in, and so its address in the guest; the
  /// guest binds exactly this device to vfio-pci.
  public var vfioSlot = 3
  public var vfioDevice: String { "0000:00:" + (vfioSlot < 16 ? "0" : "") + String(vfioSlot, radix: 16) + ".0" }

  public init() {}
  public static let standard = LabLayout()

  /// The fsdax mount point of `fs` (`ext4` or `xfs`).
  public func fsdaxMount(_ fs: String) -> String { fs == "xfs" ? fsdaxXfs : fsdaxExt4 }

  /// The shell variables the guest's init reads.
  public var guestVariables: [(String, String)] {
    [
      ("REGIONS", "\(regions)"), ("FSDAX_EXT4", fsdaxExt4), ("FSDAX_XFS", fsdaxXfs), ("PAGECACHE", pagecache),
      ("BRD_KIB", "\(brdKiB)"), ("ALIGN", "\(align >> 20)M"), ("HUGEPAGES", "\(hugepages)"), ("VFIO_DEVICE", vfioDevice),
      ("KMEM_NODE", "\(kmemNode)"),
    ]
  }
}
