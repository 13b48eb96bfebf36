import DaxPinLinux
import FoundationEssentials

/// A kernel ready to boot: its image, release, module tree (if any) and config (if known).
public struct KernelTree: Sendable, Equatable {
  public var label: String
  /// The Debian package version, or nil for a user's kernel.
  public var version: String?
  public var image: String
  public var release: String
  /// `<root>` such that `<root>/lib/modules/<release>` holds the modules; nil for built-in-only.
  public var modulesRoot: String?
  public var config: String?

  /// The release string in a bzImage's setup header (`kernel_version` at 0x20E, offset + 0x200).
  public static func release(ofImage path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path), data.count > 0x300 else { return nil }
    let bytes = [UInt8](data.prefix(0x10000))
    guard bytes[0x202..<0x206] == [0x48, 0x64, 0x72, 0x53] else { return nil }  // "HdrS"
    let offset = Int(bytes[0x20E]) | Int(bytes[0x20F]) << 8
    let start = offset + 0x200
    guard start < bytes.count else { return nil }
    let text = bytes[start...].prefix { $0 != 0 && $0 != 0x20 }
    return String(decoding: text, as: UTF8.self)
  }

  /// A tree extracted from packages, or a user's kernel: finds the image, modules and config.
  public static func locate(label: String, version: String?, root: String) throws(LabError) -> KernelTree {
    let fm = FileManager.default
    let isFile = (try? fm.attributesOfItem(atPath: root)[.type] as? FileAttributeType) == .typeRegular
    if isFile {
      guard let release = release(ofImage: root) else { throw .usage("\(root) is not a bzImage (no HdrS setup header)") }
      return KernelTree(label: label, version: version, image: root, release: release, modulesRoot: nil, config: nil)
    }
    let boot = ((try? fm.contentsOfDirectory(atPath: root + "/boot")) ?? []).sorted()
    let image: String
    // 7.x packages follow the kernel-install layout: /usr/lib/modules/<release>/vmlinuz.
    let moduleImages = [root, root + "/usr"].flatMap { base in
      ((try? fm.contentsOfDirectory(atPath: base + "/lib/modules")) ?? []).sorted().map { "\(base)/lib/modules/\($0)/vmlinuz" }
    }.filter { fm.fileExists(atPath: $0) }
    if let v = boot.first(where: { $0.hasPrefix("vmlinuz-") }) {
      image = root + "/boot/" + v
    } else if let v = moduleImages.first {
      image = v
    } else if fm.fileExists(atPath: root + "/arch/x86/boot/bzImage") {
      image = root + "/arch/x86/boot/bzImage"
    } else {
      throw .setup("no kernel image in \(root) (looked for boot/vmlinuz-*, lib/modules/*/vmlinuz and arch/x86/boot/bzImage)")
    }
    guard let release = release(ofImage: image) else { throw .setup("\(image) is not a bzImage") }
    // /lib/modules, or /usr/lib/modules on merged-/usr releases (trixie and later).
    let modules = [root, root + "/usr"].first { ((try? fm.contentsOfDirectory(atPath: $0 + "/lib/modules")) ?? []).contains(release) }
    var config: String? = boot.first { $0 == "config-\(release)" }.map { root + "/boot/" + $0 }
    if config == nil {
      let headers = ((try? fm.contentsOfDirectory(atPath: root + "/usr/src")) ?? []).map { root + "/usr/src/" + $0 + "/.config" }
      config = (headers + [root + "/.config"]).first { fm.fileExists(atPath: $0) }
    }
    if let modules, !fm.fileExists(atPath: "\(modules)/lib/modules/\(release)/modules.dep") {
      // Debian 7.x ships no modules.dep (and 6.x's is made by postinst): build it.
      let r = try? HostProcess.run(["depmod", "-b", modules, release])
      guard r?.exit.succeeded == true else { throw .setup("depmod -b \(modules) \(release) failed: \(r?.stderr ?? "depmod missing")") }
    }
    return KernelTree(label: label, version: version, image: image, release: release, modulesRoot: modules, config: config)
  }
}

/// Fetches Debian's kernels with `apt-get download` through the machine's mirror and caches
/// the extracted trees under `<cache>/kernels/<label>/<version>`.
struct DebianKernelFetcher {
  let cacheDirectory: String
  let log: @Sendable (String) -> Void
  var progress: ProgressSink? = nil

  func fetch(_ kernel: DebianKernel, refresh: Bool) throws(LabError) -> KernelTree {
    let fm = FileManager.default
    let base = "\(cacheDirectory)/kernels/\(kernel.rawValue)"
    if !refresh, let cached = try? String(contentsOfFile: base + "/current", encoding: .utf8) {
      let v = cached.trimmingCharacters(in: "\n ")
      if fm.fileExists(atPath: "\(base)/\(v)/complete") {
        log("cached \(v)")
        return try KernelTree.locate(label: kernel.rawValue, version: v, root: "\(base)/\(v)/root")
      }
    }
    var repo = AptRepository(directory: cacheDirectory + "/apt", mirror: try AptRepository.machineMirror(), log: log)
    repo.progress = progress
    try repo.update(maxAgeSeconds: refresh ? 0 : 24 * 3600)
    guard let newest = try repo.versions(of: "linux-image-amd64").first(where: { kernel.suites.contains($0.suite) }) else {
      throw .setup("no linux-image-amd64 in \(kernel.suites.joined(separator: " or ")) through the mirror")
    }
    let meta = try repo.exactDependencies(of: "linux-image-amd64", version: newest.version)
    guard let image = meta.keys.first(where: { $0.hasPrefix("linux-image-") }) else {
      throw .setup("linux-image-amd64 \(newest.version) names no linux-image-<abi> package")
    }
    let dir = "\(base)/\(newest.version)"
    HostProcess.removeTree(dir)
    try? fm.createDirectory(atPath: dir + "/debs", withIntermediateDirectories: true)
    var packages = [(image, meta[image]!)]
    // 7.x: linux-image-<abi> is itself a meta package over linux-binary-<abi> and linux-modules-<abi>;
    // its config is in linux-headers-<abi>.
    let deps = try repo.exactDependencies(of: image, version: meta[image]!)
    let abi = String(image.dropFirst("linux-image-".count))
    for prefix in ["linux-binary-", "linux-modules-"] {
      if let v = deps[prefix + abi] { packages.append((prefix + abi, v)) }
    }
    if packages.count > 1 { packages.append(("linux-headers-" + abi, meta[image]!)) }
    for (name, version) in packages {
      let deb = try repo.download(name, version: version, into: dir + "/debs")
      let r = try? HostProcess.run(["dpkg-deb", "-x", deb, dir + "/root"])
      guard r?.exit.succeeded == true else { throw .setup("dpkg -x \(deb) failed: \(r?.stderr ?? "")") }
      HostProcess.removeTree(deb)
    }
    let tree = try KernelTree.locate(label: kernel.rawValue, version: newest.version, root: dir + "/root")
    guard tree.modulesRoot != nil else {
      throw .setup("\(image) \(newest.version) unpacked without lib/modules/\(tree.release): cannot load pmem, VFIO or fs modules")
    }
    _ = fm.createFile(atPath: dir + "/complete", contents: Data())
    try? Data((newest.version + "\n").utf8).write(to: URL(fileURLWithPath: base + "/current"))
    return tree
  }
}
