import DaxPinCore
import DaxPinLinux
import FoundationEssentials
import Glibc
import Synchronization
import SystemPackage

/// The guest's initramfs, in two concatenated `newc` archives (the kernel unpacks one after the
/// other):
///
/// - the **base**: static busybox as the shell, the lab's init script, daxpin (stripped), ndctl,
///   daxctl, cxl, mkfs.ext4, mkfs.xfs, kmod, the soft-RoCE files (`GuestRDMA`: the `rdma` tool, the rxe
///   provider with libibverbs) and every shared library they need (from ldd), the
///   decompressed modules of every pmem mode (unsigned where the kernel allows it:
///   `ModuleSignature`) with their modules.dep, and the kernel config in
///   /boot. It depends on the kernel, the daxpin binary, the init script and the host's tools,
///   never on the run, so it is built once and kept in `<cache>/initramfs/<key>.cpio`, where the
///   key is the BLAKE2b-256 of a manifest naming every file with its own (`ContentHash`);
/// - the **run archive**: `/etc/daxpin-lab.conf` (pmem mode, module order, layout), a few
///   hundred bytes written for each run, and with `--exec` the command and its runner
///   (`LabExec`).
///
/// Uncompressed: under TCG decompressing costs more boot time than copying.
public struct Initramfs {
  public var tree: KernelTree
  /// Every module any pmem mode loads (host paths); each run's config names its own order.
  public var modules: [String]
  public var daxpinBinary: String
  public var initScript: String

  /// Bumped whenever the base's layout changes, so old cache entries are never reused.
  static let format = "daxpin-lab-initramfs 4"
  /// Cache entries kept (the most recently used); each is 35–45 MB.
  static let cacheEntries = 8

  public init(tree: KernelTree, modules: [String], daxpinBinary: String, initScript: String) {
    self.tree = tree
    self.modules = modules
    self.daxpinBinary = daxpinBinary
    self.initScript = initScript
  }

  /// Tools the guest runs, by the name it calls them.
  static let tools: [(guestPath: String, candidates: [String])] = [
    ("/sbin/ndctl", ["/usr/bin/ndctl", "/bin/ndctl"]),
    ("/sbin/daxctl", ["/usr/bin/daxctl", "/bin/daxctl"]),
    // The CXL mode's `cxl create-region` (ndctl's cxl tool, with libcxl).
    ("/sbin/cxl", ["/usr/bin/cxl", "/bin/cxl"]),
    ("/sbin/mkfs.ext4", ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"]),
    ("/sbin/mkfs.xfs", ["/usr/sbin/mkfs.xfs", "/sbin/mkfs.xfs"]),
    ("/sbin/kmod", ["/usr/bin/kmod", "/bin/kmod"]),
  ]
  static let directories = ["/proc", "/sys", "/dev", "/tmp", "/mnt", "/run", "/var/tmp", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc"]
  /// Files of the kernel's module directory that depmod reads besides the modules.
  static let moduleIndexes = ["modules.builtin", "modules.order", "modules.builtin.modinfo"]

  /// The base archive, from the cache or built now.
  public struct Base: Sendable {
    public var path: String
    public var key: String
    public var bytes: Int
    public var files: Int
    public var daxpinBytes: Int
    /// Found in the cache rather than built.
    public var cached: Bool
    /// Its modules carry no signatures (`ModuleSignature.unsignedModulesLoad`).
    public var modulesUnsigned = false
  }

  /// What goes into the base, named by host path: computed without reading any file's contents.
  struct Plan {
    var files: [(guest: String, host: String, executable: Bool)] = []
    var symlinks: [(guest: String, target: String)] = []
    /// (guest path of the decompressed module, host path of the packaged one)
    var modules: [(guest: String, host: String)] = []
    var moduleIndexes: [(name: String, host: String)] = []
    var daxpin: String = ""

    var hostFiles: [String] { files.map(\.host) + modules.map(\.host) + moduleIndexes.map(\.host) }
  }

  func plan(memoFile: String? = nil) throws(LabError) -> Plan {
    let fm = FileManager.default
    var plan = Plan()
    guard let busybox = ["/bin/busybox", "/usr/bin/busybox"].first(where: { fm.fileExists(atPath: $0) }) else {
      throw .setup("no static busybox: apt-get install busybox-static (scripts/setup.sh)")
    }
    plan.files.append(("/bin/busybox", busybox, true))
    plan.files.append(("/init", initScript, true))
    plan.files.append(("/bin/daxpin", daxpinBinary, true))
    plan.daxpin = daxpinBinary
    var binaries = [daxpinBinary]
    for tool in Self.tools {
      guard let host = tool.candidates.first(where: { fm.fileExists(atPath: $0) }) else {
        throw .setup("\(tool.guestPath.split(separator: "/").last!) is not installed: run scripts/setup.sh")
      }
      plan.files.append((tool.guestPath, host, true))
      binaries.append(host)
    }
    for f in try GuestRDMA.files() {
      plan.files.append(f)
      if f.executable { binaries.append(f.host) }
    }
    plan.symlinks.append(("/sbin/modprobe", "kmod"))
    var libraries: Set<String> = []
    for b in binaries { libraries.formUnion(try ContentHash.sharedLibraries(of: b, memoFile: memoFile)) }
    for lib in libraries.sorted() { plan.files.append((lib, lib, true)) }
    if let root = tree.modulesRoot {
      for host in modules {
        guard let guest = Self.guestModulePath(host, release: tree.release) else { continue }
        plan.modules.append((guest, host))
      }
      if !plan.modules.isEmpty {
        for f in Self.moduleIndexes {
          let src = "\(root)/lib/modules/\(tree.release)/\(f)"
          if fm.fileExists(atPath: src) { plan.moduleIndexes.append((f, src)) }
        }
      }
    }
    if let config = tree.config { plan.files.append(("/boot/config-\(tree.release)", config, false)) }
    return plan
  }

  /// The cache key: the hash of the format, the release, and every file's guest path, mode and
  /// content hash (`ContentHash`; the daxpin binary before stripping: strip is deterministic).
  func key(_ plan: Plan, memoFile: String? = nil) throws(LabError) -> String {
    let digests = try ContentHash.files(plan.hostFiles, memoFile: memoFile)
    var lines = [Self.format, "release \(tree.release)"]
    lines += plan.files.map { "file \($0.guest) \($0.executable ? 755 : 644) \(digests[$0.host]!)" }
    lines += plan.symlinks.map { "symlink \($0.guest) \($0.target)" }
    lines += plan.modules.map { "module \($0.guest) \(digests[$0.host]!)" }
    lines += plan.moduleIndexes.map { "index \($0.name) \(digests[$0.host]!)" }
    return try ContentHash.text(lines.joined(separator: "\n") + "\n")
  }

  /// The base archive for this kernel, daxpin, init script and host tools: from
  /// `<cacheDirectory>/initramfs` when one with the same key is there, else built and stored.
  public func base(cacheDirectory: String) throws(LabError) -> Base {
    let memo = Self.memoFile(cacheDirectory)
    let plan = try plan(memoFile: memo)
    let key = try key(plan, memoFile: memo)
    let unsigned = modulesUnsigned(plan)
    let fm = FileManager.default
    let dir = cacheDirectory + "/initramfs"
    let path = "\(dir)/\(key).cpio"
    if let meta = HostProcess.readFile("\(dir)/\(key).meta").map({ $0.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) } }),
      meta.count == 2, let size = Self.size(path)
    {
      _ = utimes(path, nil)
      return Base(path: path, key: key, bytes: size, files: meta[0], daxpinBytes: meta[1], cached: true, modulesUnsigned: unsigned)
    }
    do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch { throw .setup("cannot create \(dir): \(error)") }
    let scratch: String
    do { scratch = try HostProcess.scratchDirectory() } catch { throw .setup("\(error)") }
    defer { HostProcess.removeTree(scratch) }
    let tmp = "\(path).\(getpid()).tmp"
    defer { unlink(tmp) }
    let (bytes, files, daxpinBytes) = try write(plan, to: tmp, scratch: scratch, unsignedModules: unsigned)
    // Another invocation may have stored the same key meanwhile: the contents are the same.
    guard rename(tmp, path) == 0 else { throw .setup("cannot rename \(tmp) to \(path): \(Errno(rawValue: errno).name)") }
    try? Data("\(files) \(daxpinBytes)\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(key).meta"), options: .atomic)
    Self.prune(dir, keep: Self.cacheEntries)
    return Base(path: path, key: key, bytes: bytes, files: files, daxpinBytes: daxpinBytes, cached: false, modulesUnsigned: unsigned)
  }

  /// Whether the base's modules go without their signatures: there are modules, and the kernel's config
  /// (part of the cache key) lets unsigned modules load.
  func modulesUnsigned(_ plan: Plan) -> Bool {
    !plan.modules.isEmpty && ModuleSignature.unsignedModulesLoad(config: tree.config.flatMap(HostProcess.readFile))
  }

  /// Writes the base archive, its modules without signatures when `unsignedModules`; returns its
  /// size, the number of files, and daxpin's stripped size.
  func write(_ plan: Plan, to path: String, scratch: String, unsignedModules: Bool) throws(LabError) -> (Int, Int, Int) {
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
    for d in Self.directories { mkdirs(d + "/x") }

    // daxpin itself, stripped.
    let stripped = scratch + "/daxpin"
    let strip = try? HostProcess.run(["strip", "-o", stripped, plan.daxpin])
    let daxpin = strip?.exit.succeeded == true ? stripped : plan.daxpin
    let daxpinBytes = Self.size(daxpin) ?? 0
    for f in plan.files {
      try add(f.guest, hostPath: f.host == plan.daxpin ? daxpin : f.host, executable: f.executable)
    }
    for l in plan.symlinks {
      mkdirs(l.guest)
      cpio.add(l.guest, .symlink(l.target))
    }

    // Modules, decompressed into a staging tree so depmod can index them for the guest's kmod,
    // and without their signatures where the kernel loads unsigned modules (`ModuleSignature`).
    if !plan.modules.isEmpty {
      let stage = scratch + "/modules"
      for m in plan.modules {
        let dest = stage + m.guest
        try? fm.createDirectory(atPath: String(dest[..<dest.lastIndex(of: "/")!]), withIntermediateDirectories: true)
        try Self.decompress(m.host, to: dest)
        if unsignedModules, let data = fm.contents(atPath: dest), let module = ModuleSignature.unsigned([UInt8](data)) {
          do { try Data(module).write(to: URL(fileURLWithPath: dest)) } catch { throw .setup("cannot write \(dest): \(error)") }
        }
      }
      for f in plan.moduleIndexes { try? fm.copyItem(atPath: f.host, toPath: "\(stage)/lib/modules/\(tree.release)/\(f.name)") }
      _ = try? HostProcess.run(["depmod", "-b", stage, tree.release])
      let base = "\(stage)/lib/modules/\(tree.release)"
      for rel in Self.regularFiles(under: base) {
        try add("/lib/modules/\(tree.release)/\(rel)", hostPath: base + "/" + rel, executable: false)
      }
    }
    cpio.finish()
    do {
      try Data(cpio.bytes).write(to: URL(fileURLWithPath: path))
    } catch {
      throw .setup("cannot write \(path): \(error)")
    }
    return (cpio.bytes.count, files, daxpinBytes)
  }

  /// The run archive: `/etc/daxpin-lab.conf` for this run's pmem mode and module order (guest paths).
  /// With `bench`, the guest runs `daxpin bench` with those arguments. `extra`: more files for
  /// this run only (guest path, contents, executable), such as `LabExec`'s and `/bin/pinbench`,
  /// so the cached base stays the same.
  public static func runArchive(
    pmem: PmemMode, modules: [String], layout: LabLayout = .standard, bench: String? = nil, extra: [(String, [UInt8], Bool)] = []
  ) -> [UInt8] {
    var cpio = CpioWriter()
    cpio.add("/etc", .directory)
    cpio.add("/etc/daxpin-lab.conf", .file(Array(config(pmem: pmem, modules: modules, layout: layout, bench: bench).utf8), executable: false))
    for (path, bytes, executable) in extra { cpio.add(path, .file(bytes, executable: executable)) }
    cpio.finish()
    return cpio.bytes
  }

  /// The initrd QEMU loads: the base, then the run archive (both end 4-byte aligned, as the
  /// kernel's unpacker wants between archives).
  public static func assemble(base: String, runArchive: [UInt8], to path: String) throws(LabError) {
    let src = open(base, O_RDONLY | O_CLOEXEC)
    guard src >= 0 else { throw .setup("cannot open \(base): \(Errno(rawValue: errno).name)") }
    defer { close(src) }
    let dst = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard dst >= 0 else { throw .setup("cannot create \(path): \(Errno(rawValue: errno).name)") }
    defer { close(dst) }
    func writeAll(_ buf: UnsafeRawBufferPointer) -> Bool {
      var done = 0
      while done < buf.count {
        let n = Glibc.write(dst, buf.baseAddress! + done, buf.count - done)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        done += n
      }
      return true
    }
    var chunk = [UInt8](repeating: 0, count: 4 << 20)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(src, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { throw .setup("cannot read \(base): \(Errno(rawValue: errno).name)") }
      if n == 0 { break }
      guard chunk.withUnsafeBytes({ writeAll(UnsafeRawBufferPointer(rebasing: $0[..<n])) }) else { throw .setup("cannot write \(path)") }
    }
    guard runArchive.withUnsafeBytes(writeAll) else { throw .setup("cannot write \(path)") }
  }

  /// Where a packaged module lands in the guest: its path below `/lib/modules/<release>/`,
  /// decompressed (`.ko.xz` → `.ko`).
  public static func guestModulePath(_ host: String, release: String) -> String? {
    guard let r = host.firstRange(of: "/lib/modules/\(release)/") else { return nil }
    return "/lib/modules/\(release)/" + stripCompression(String(host[r.upperBound...]))
  }

  /// Where `ContentHash` keeps digests and ldd answers between invocations.
  static func memoFile(_ cacheDirectory: String) -> String? {
    try? FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
    return cacheDirectory + "/content-hashes"
  }

  static func size(_ path: String) -> Int? {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : nil
  }

  /// Keeps the `keep` most recently used archives (a cache hit refreshes the modification time).
  static func prune(_ dir: String, keep: Int) {
    let fm = FileManager.default
    let archives = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".cpio") }
    let dated = archives.compactMap { n -> (String, Date)? in
      (try? fm.attributesOfItem(atPath: dir + "/" + n)[.modificationDate] as? Date).map { (n, $0) }
    }.sorted { $0.1 > $1.1 }
    for (n, _) in dated.dropFirst(keep) {
      unlink(dir + "/" + n)
      unlink(dir + "/" + n.dropLast(".cpio".count) + ".meta")
    }
  }

  /// `/etc/daxpin-lab.conf`: the pmem mode, the module load order, and the guest's objects
  /// from `LabLayout` (mount points, regions, brd size, the vfio device), as shell variables.
  static func config(pmem: PmemMode, modules: [String], layout: LabLayout = .standard, bench: String? = nil) -> String {
    var lines = ["PMEM_MODE=\(pmem.rawValue)", "MODULES=\"\(modules.joined(separator: " "))\"", "PROBE_ARGS=\"\""]
    if let bench { lines.append("BENCH_ARGS=\"\(bench)\"") }
    lines += layout.guestVariables(pmem).map { "\($0.0)=\"\($0.1)\"" }
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
