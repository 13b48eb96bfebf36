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
  /// The namespaces every pmem mode ends in, in order (`ndctl create-namespace -m`): fsdax for
  /// ext4, fsdax for xfs, devdax. Every mode offers all three (virtio-pmem's label-less regions
  /// take device-DAX like memmap's: measured on Debian 5.10 to 7.3), so the fake host of every mode
  /// has the same memory kinds (`FakeTopology(lab:)`).
  public var namespaceModes = ["fsdax", "fsdax", "devdax"]
  /// The pmem modes whose guest has a fourth region, made devdax and converted to System RAM
  /// onlined movable (`daxctl reconfigure-device --mode=system-ram`) for `devdax-kmem`: a region
  /// of its own (on 5.10 a device-DAX that VFIO has mapped can no longer be reconfigured) in a
  /// NUMA node of its own (QEMU's `-numa`). virtio-pmem and CXL guests have none: there the
  /// probe is given no `--kmem-node` and the devdax-kmem cells are skipped.
  public var kmemModes: Set<PmemMode> = [.memmap, .nvdimm]
  /// The NUMA node the converted memory joins: a node of its own, so nothing but a buffer bound
  /// to it allocates from its ZONE_MOVABLE.
  public var kmemNodeNumber = 1
  /// Each namespace's size in MiB (mkfs.xfs wants more than 300 MB); a region per namespace in
  /// the memmap, nvdimm and virtio-pmem modes.
  public var regionMiB = 512
  /// The CXL type-3 device's persistent capacity in MiB: one region holding the three namespaces
  /// (QEMU 7.2 gives each CXL port one HDM decoder, so one region per host bridge), with room
  /// for the label index and each namespace's 2 MiB alignment.
  public var cxlDeviceMiB = 2048
  /// The CXL device's label storage area (`lsa=`) in MiB: where cxl_pmem keeps namespace labels.
  public var cxlLabelMiB = 1
  /// The CXL fixed memory window (`cxl-fmw.0.size`) in GiB: the host physical range the root
  /// decoder maps the region into.
  public var cxlWindowGiB = 4
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

  /// The kmem node of a run in `mode` (what the guest passes as `--kmem-node`), nil where the
  /// mode has no kmem region.
  public func kmemNode(_ mode: PmemMode) -> Int? { kmemModes.contains(mode) ? kmemNodeNumber : nil }

  /// The namespaces the guest creates in `mode`, in order: `namespaceModes`, then the kmem
  /// region's devdax in the modes that have one.
  public func namespaces(_ mode: PmemMode) -> [String] { namespaceModes + (kmemNode(mode) == nil ? [] : ["devdax"]) }

  /// The pmem regions `mode` gives the guest: one per namespace, but one CXL region carved into
  /// all three (label namespaces).
  public func regions(_ mode: PmemMode) -> Int { mode == .cxl ? 1 : namespaces(mode).count }

  /// The device-DAX device of a run in `mode`: drivers/dax/pmem.c names it after its namespace
  /// (`namespaceX.Y` → `daxX.Y`), the third: `/dev/dax2.0` with a region per namespace,
  /// `/dev/dax0.2` on the one CXL region. The kmem region's device (`/dev/dax3.0`) is System RAM
  /// by the time the probe runs.
  public func devdax(_ mode: PmemMode) -> String {
    mode == .cxl ? "/dev/dax0.\(namespaceModes.count - 1)" : "/dev/dax\(namespaceModes.count - 1).0"
  }

  /// What `daxpin lab --exec` gives the command, as environment variables: the DAX mount points,
  /// the device-DAX device, the disk-backed (non-DAX) page-cache directory and the PCI address
  /// bound to vfio-pci.
  public func execVariables(_ mode: PmemMode) -> [(String, String)] {
    [
      ("DAXPIN_LAB_FSDAX_EXT4", fsdaxExt4), ("DAXPIN_LAB_FSDAX_XFS", fsdaxXfs), ("DAXPIN_LAB_DEVDAX", devdax(mode)),
      ("DAXPIN_LAB_PAGECACHE", pagecache), ("DAXPIN_LAB_VFIO_DEVICE", vfioDevice),
    ]
  }

  /// The shell variables the guest's init reads for a run in `mode`.
  public func guestVariables(_ mode: PmemMode) -> [(String, String)] {
    [
      ("REGIONS", "\(regions(mode))"), ("NAMESPACES", namespaces(mode).joined(separator: " ")), ("NAMESPACE_MIB", "\(regionMiB)"), ("FSDAX_EXT4", fsdaxExt4), ("FSDAX_XFS", fsdaxXfs), ("PAGECACHE", pagecache),
      ("BRD_KIB", "\(brdKiB)"), ("ALIGN", "\(align >> 20)M"), ("HUGEPAGES", "\(hugepages)"), ("VFIO_DEVICE", vfioDevice),
      ("KMEM_NODE", kmemNode(mode).map { "\($0)" } ?? ""),
    ]
  }
}
