import DaxPinLinux

/// The modules a guest must load, in load order, computed by the host's `modprobe -D` against the
/// kernel's own modules.dep (soft dependencies included).
public enum ModuleClosure {
  /// Needed for every run (`kmem` onlines the fourth region's dax device as System RAM); `iommufd` and `crc32c` where the kernel has them.
  public static func wanted(pmem: PmemMode) -> [String] {
    let bus = pmem == .memmap ? ["nd_e820"] : ["nfit"]
    return bus + ["nd_pmem", "dax_pmem", "device_dax", "ext4", "xfs", "brd", "vfio_iommu_type1", "vfio_pci", "kmem"]
  }
  public static let optional = ["iommufd", "crc32c_generic", "crc32c"]

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
    if let name = wanted(pmem: pmem).first(where: missing.contains) {
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
