import DaxPinCore
import DaxPinLinux

/// The modules a guest must load, in load order, computed by the host's `modprobe -D` against the
/// kernel's own modules.dep (soft dependencies included).
public enum ModuleClosure {
  /// Needed for every run; `iommufd` and `crc32c` where the kernel has them. The pmem mode's bus
  /// driver comes first so its regions are probed while the rest loads; `kmem` (which onlines
  /// the kmem region's dax device as System RAM) in the modes with a kmem region.
  public static func wanted(pmem: PmemMode) -> [String] {
    bus(pmem) + ["nd_pmem", "dax_pmem", "device_dax", "ext4", "xfs", "brd", "vfio_iommu_type1", "vfio_pci"]
      + (LabLayout.standard.kmemNode(pmem) == nil ? [] : ["kmem"])
  }

  /// The drivers that put `pmem`'s devices on the NVDIMM bus.
  public static func bus(_ pmem: PmemMode) -> [String] {
    switch pmem {
    case .memmap: ["nd_e820"]
    case .nvdimm: ["nfit"]
    // virtio_pci is the transport (built in from Debian's 6.12, a module before).
    case .virtioPmem: ["virtio_pci", "virtio_pmem"]
    // cxl_acpi finds the host bridge and the fixed memory window, cxl_pci the type-3 device,
    // cxl_mem its memdev and endpoint port, cxl_pmem the NVDIMM bridge and the region's nvdimm.
    case .cxl: ["cxl_acpi", "cxl_pci", "cxl_mem", "cxl_pmem"]
    }
  }
  /// Soft-RoCE for the rdma probes: rdma_rxe and ib_uverbs (7.x's rdma_rxe no longer pulls it in),
  /// `dummy` for its netdev (it makes `dummy0` itself), and the crc32 the rxe link needs where it
  /// is a module (before 7.x: without it `rdma link add` fails with ENOENT).
  public static let rdma = ["ib_uverbs", "rdma_rxe", "dummy", "crc32_generic", "crc32_pclmul"]
  public static let optional = ["iommufd", "crc32c_generic", "crc32c"] + rdma
  /// Loaded when they are modules, never required: virtio_pci is built into Debian's 6.12 and
  /// 7.3, whose modules.builtin (7.3 ships only modules.builtin.bin) the host's modprobe may not
  /// read. A kernel without it shows no regions, and the guest says so.
  public static let transports = ["virtio_pci"]

  /// One line of `modprobe -D`: `insmod /path/x.ko [params]` or `builtin x`.
  public enum Step: Equatable, Sendable {
    case insmod(String)
    case builtin(String)
  }

  public static func parse(_ text: String) -> [Step] {
    text.split(separator: "\n").compactMap { line in
      let f = line.split(separator: " ")
      guard f.count >= 2 else { return nil }
      if f[0] == "insmod" { return .insmod(String(f[1])) }
      if f[0] == "builtin" { return .builtin(String(f[1])) }
      return nil
    }
  }

  /// The .ko files to load, in order, each once. Throws naming the first required module the
  /// kernel has neither built in nor as a module. One `modprobe -a -D` for the whole list.
  public static func resolve(tree: KernelTree, pmem: PmemMode) throws(LabError) -> [String] {
    guard let root = tree.modulesRoot else { return [] }  // a built-in-only kernel
    let names = wanted(pmem: pmem) + optional
    // -C /dev/null: only the kernel's own metadata (modules.dep, softdeps), never the host's
    // /etc/modprobe.d (ndctl's "install libnvdimm ..." rule would hide libnvdimm).
    let r: HostProcess.Output
    do { r = try HostProcess.run(["modprobe", "-C", "/dev/null", "-d", root, "-S", tree.release, "-a", "-D"] + names) } catch {
      throw .setup("\(error)")
    }
    let missing = Set(notFound(r.stderr))
    if let name = wanted(pmem: pmem).first(where: { missing.contains($0) && !transports.contains($0) }) {
      throw .setup("kernel \(tree.release) lacks module \(name) (neither built in nor in modules.dep)")
    }
    var order: [String] = []
    for case .insmod(let path) in parse(r.stdout) where !order.contains(path) { order.append(path) }
    return order
  }

  /// The names in `modprobe: WARNING: Module NAME not found in directory ...` (or FATAL).
  static func notFound(_ stderr: String) -> [String] {
    stderr.split(separator: "\n").compactMap { line in
      guard let r = line.firstRange(of: "Module "), let end = line.firstRange(of: " not found") else { return nil }
      return String(line[r.upperBound..<end.lowerBound])
    }
  }
}
