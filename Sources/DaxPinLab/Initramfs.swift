import DaxPinCore
import DaxPinLinux
import FoundationEssentials

/// Builds the guest's initramfs: static busybox as the shell, the lab's init script, daxpin
/// (stripped), ndctl, daxctl, mkfs.ext4, mkfs.xfs, kmod and every shared library they need (from
/// ldd), the decompressed module closure with its modules.dep, and the kernel config in /boot.
/// Written uncompressed: under TCG decompressing costs more boot time than copying.
public struct Initramfs {
  public var tree: KernelTree
  public var pmem: PmemMode
  public var modules: [String]
  public var daxpinBinary: String
  public var initScript: String

  /// Tools the guest runs, by the name it calls them.
  static let tools: [(guestPath: String, candidates: [String])] = [
    ("/sbin/ndctl", ["/usr/bin/ndctl", "/bin/ndctl"]),
    ("/sbin/daxctl", ["/usr/bin/daxctl", "/bin/daxctl"]),
    ("/sbin/mkfs.ext4", ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"]),
    ("/sbin/mkfs.xfs", ["/usr/sbin/mkfs.xfs", "/sbin/mkfs.xfs"]),
    ("/sbin/kmod", ["/usr/bin/kmod", "/bin/kmod"]),
  ]

  public struct Built: Sendable {
    public var path: String
    public var bytes: Int
    public var files: Int
    public var daxpinBytes: Int
  }

  public func build(to path: String, scratch: String) throws(LabError) -> Built {
    let fm = FileManager.default
    var cpio = CpioWriter()
    var files = 0
    var dirs: Set<String> = []
    func mkdirs(_ p: String) {
      var cur = ""
      for comp in p.split(separator: "/").dropLast() {
        cur += "/" + comp
        if dirs.insert(cur).inserted { cpio.add(cur, .directory) }
      }
    }
    func add(_ guestPath: String, hostPath: String, executable: Bool) throws(LabError) {
      guard let data = fm.contents(atPath: hostPath) else { throw .setup("cannot read \(hostPath)") }
      mkdirs(guestPath)
      cpio.add(guestPath, .file([UInt8](data), executable: executable))
      files += 1
    }
    func addText(_ guestPath: String, _ text: String, executable: Bool = false) {
      mkdirs(guestPath)
      cpio.add(guestPath, .file(Array(text.utf8), executable: executable))
      files += 1
    }

    for d in ["/proc", "/sys", "/dev", "/tmp", "/mnt", "/run", "/var/tmp", "/bin", "/sbin", "/usr/bin", "/usr/sbin"] {
      mkdirs(d + "/x")
    }
    guard let busybox = ["/bin/busybox", "/usr/bin/busybox"].first(where: { fm.fileExists(atPath: $0) }) else {
      throw .setup("no static busybox: apt-get install busybox-static (scripts/setup.sh)")
    }
    try add("/bin/busybox", hostPath: busybox, executable: true)
    try add("/init", hostPath: initScript, executable: true)

    // daxpin itself, stripped.
    let stripped = scratch + "/daxpin"
    let strip = try? HostProcess.run(["strip", "-o", stripped, daxpinBinary])
    let daxpin = strip?.exit.succeeded == true ? stripped : daxpinBinary
    try add("/bin/daxpin", hostPath: daxpin, executable: true)
    let daxpinBytes = fm.contents(atPath: daxpin)?.count ?? 0

    var binaries = [daxpin]
    for tool in Self.tools {
      guard let host = tool.candidates.first(where: { fm.fileExists(atPath: $0) }) else {
        throw .setup("\(tool.guestPath.split(separator: "/").last!) is not installed: run scripts/setup.sh")
      }
      try add(tool.guestPath, hostPath: host, executable: true)
      binaries.append(host)
    }
    mkdirs("/sbin/modprobe")
    cpio.add("/sbin/modprobe", .symlink("kmod"))

    var libraries: Set<String> = []
    for b in binaries {
      guard let r = try? HostProcess.run(["ldd", b]) else { throw .setup("ldd is missing") }
      libraries.formUnion(Self.libraries(inLdd: r.stdout))
    }
    for lib in libraries.sorted() { try add(lib, hostPath: lib, executable: true) }

    // Modules, decompressed into a staging tree so depmod can index them for the guest's kmod.
    if let root = tree.modulesRoot, !modules.isEmpty {
      let stage = scratch + "/modules"
      var guestOrder: [String] = []
      for host in modules {
        guard let rel = host.firstRange(of: "/lib/modules/\(tree.release)/").map({ String(host[$0.upperBound...]) }) else { continue }
        let plain = Self.stripCompression(rel)
        let dest = "\(stage)/lib/modules/\(tree.release)/\(plain)"
        try? fm.createDirectory(atPath: String(dest[..<dest.lastIndex(of: "/")!]), withIntermediateDirectories: true)
        try Self.decompress(host, to: dest)
        guestOrder.append("/lib/modules/\(tree.release)/\(plain)")
      }
      for f in ["modules.builtin", "modules.order", "modules.builtin.modinfo"] {
        let src = "\(root)/lib/modules/\(tree.release)/\(f)"
        if fm.fileExists(atPath: src) { try? fm.copyItem(atPath: src, toPath: "\(stage)/lib/modules/\(tree.release)/\(f)") }
      }
      _ = try? HostProcess.run(["depmod", "-b", stage, tree.release])
      let base = "\(stage)/lib/modules/\(tree.release)"
      for rel in Self.regularFiles(under: base) {
        try add("/lib/modules/\(tree.release)/\(rel)", hostPath: base + "/" + rel, executable: false)
      }
      addText("/etc/daxpin-lab.conf", Self.config(pmem: pmem, modules: guestOrder))
    } else {
      addText("/etc/daxpin-lab.conf", Self.config(pmem: pmem, modules: []))
    }
    if let config = tree.config { try add("/boot/config-\(tree.release)", hostPath: config, executable: false) }
    cpio.finish()
    do {
      try Data(cpio.bytes).write(to: URL(fileURLWithPath: path))
    } catch {
      throw .setup("cannot write \(path): \(error)")
    }
    return Built(path: path, bytes: cpio.bytes.count, files: files, daxpinBytes: daxpinBytes)
  }

  /// `/etc/daxpin-lab.conf`: the pmem mode, the module load order, and the guest's objects
  /// from `LabLayout` (mount points, regions, brd size, the vfio device), as shell variables.
  static func config(pmem: PmemMode, modules: [String], layout: LabLayout = .standard) -> String {
    var lines = ["PMEM_MODE=\(pmem.rawValue)", "MODULES=\"\(modules.joined(separator: " "))\"", "PROBE_ARGS=\"\""]
    lines += layout.guestVariables.map { "\($0.0)=\"\($0.1)\"" }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Absolute library paths in `ldd` output (`libc.so.6 => /lib/... (0x...)`, `/lib64/ld-linux...`).
  public static func libraries(inLdd text: String) -> [String] {
    text.split(separator: "\n").compactMap { line in
      let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      if let arrow = f.firstIndex(of: "=>"), arrow + 1 < f.count, f[arrow + 1].hasPrefix("/") { return f[arrow + 1] }
      if let first = f.first, first.hasPrefix("/") { return first }
      return nil
    }
  }

  /// Every regular file below `dir`, as paths relative to it, sorted.
  static func regularFiles(under dir: String, prefix: String = "") -> [String] {
    let fm = FileManager.default
    var out: [String] = []
    for name in ((try? fm.contentsOfDirectory(atPath: dir + "/" + prefix)) ?? []).sorted() {
      let rel = prefix.isEmpty ? name : prefix + "/" + name
      switch try? fm.attributesOfItem(atPath: dir + "/" + rel)[.type] as? FileAttributeType {
      case .typeDirectory: out += regularFiles(under: dir, prefix: rel)
      case .typeRegular: out.append(rel)
      default: break
      }
    }
    return out
  }

  static func stripCompression(_ p: String) -> String {
    for suffix in [".xz", ".zst", ".gz"] where p.hasSuffix(suffix) { return String(p.dropLast(suffix.count)) }
    return p
  }

  static func decompress(_ src: String, to dest: String) throws(LabError) {
    let tool: String? = src.hasSuffix(".xz") ? "xz" : src.hasSuffix(".zst") ? "zstd" : src.hasSuffix(".gz") ? "gzip" : nil
    guard let tool else {
      do { try FileManager.default.copyItem(atPath: src, toPath: dest) } catch { throw .setup("copy \(src): \(error)") }
      return
    }
    guard let pid = try? HostProcess.spawn([tool, "-dc", src], stdout: dest), HostProcess.wait(pid).succeeded else {
      throw .setup("\(tool) -dc \(src) failed (is \(tool) installed? scripts/setup.sh)")
    }
  }
}
