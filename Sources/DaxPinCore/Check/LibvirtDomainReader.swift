/// Reads libvirt domain XML (as `virsh dumpxml` prints it) into a `VMConfig`, following how
/// libvirt's QEMU driver turns it into memory backends: `<memoryBacking>` (`<source
/// type='file|anonymous|memfd'/>`, `<access mode='shared|private'/>`, `<hugepages/>`,
/// `<allocation mode='immediate'/>`), NUMA cells (`memAccess`), `<memory model='dimm|nvdimm|
/// virtio-pmem|virtio-mem'>` devices (`<source><path>`, `<alignsize>`, `<pmem/>`, `<target>
/// <readonly/>`), and `<hostdev>` (`<driver iommufd='yes'/>`) and `<interface type='hostdev'>`.
public enum LibvirtDomainReader {
  /// libvirt's `memory_backing_dir` when qemu.conf does not set it.
  public static let defaultMemoryBackingDirectory = "/var/lib/libvirt/qemu/ram"
  /// Where libvirt finds hugetlbfs when qemu.conf names no `hugetlbfs_mount`.
  public static let defaultHugetlbfsMount = "/dev/hugepages"

  /// Where libvirt puts file-backed and hugepage guest memory (from qemu.conf).
  public struct Paths: Sendable, Equatable {
    public var memoryBackingDirectory: String
    public var hugetlbfsMount: String
    public init(memoryBackingDirectory: String = LibvirtDomainReader.defaultMemoryBackingDirectory, hugetlbfsMount: String = LibvirtDomainReader.defaultHugetlbfsMount) {
      self.memoryBackingDirectory = memoryBackingDirectory
      self.hugetlbfsMount = hugetlbfsMount
    }
  }

  /// How `<memoryBacking>` says to back guest memory.
  struct Backing {
    var source = "anonymous"
    var access: String?
    var hugepages = false
    var prealloc = false
  }

  public static func read(_ domain: MarkupElement, paths: Paths = Paths()) throws(CheckProblem) -> VMConfig {
    guard domain.name == "domain" else { throw .malformed("root element <\(domain.name)>, not <domain>: not libvirt domain XML") }
    if let type = domain["type"], type != "kvm" && type != "qemu" {
      throw .malformed("<domain type='\(type)'>: daxpin check reads QEMU and KVM domains")
    }
    var config = VMConfig(dialect: .libvirt, name: domain.child("name")?.value)
    let name = config.name ?? "guest"
    // The per-domain directory libvirt makes at start: <id>-<name> (virDomainDefGetShortName).
    let shortName = "\(domain["id"] ?? "<id>")-\(name.prefix(20))"

    var backing = Backing()
    if let mb = domain.child("memoryBacking") {
      backing.hugepages = mb.child("hugepages") != nil
      if let s = mb.child("source") {
        guard let t = s["type"], ["file", "anonymous", "memfd"].contains(t) else {
          throw .malformed("<memoryBacking><source type='\(s["type"] ?? "")'/>: not file, anonymous or memfd")
        }
        backing.source = t
      }
      if let a = mb.child("access") {
        guard let mode = a["mode"], mode == "shared" || mode == "private" else {
          throw .malformed("<memoryBacking><access mode='\(a["mode"] ?? "")'/>: not shared or private")
        }
        backing.access = mode
      }
      backing.prealloc = mb.child("allocation")?["mode"] == "immediate"
    }

    func ramBacking(alias: String, access: String?, hugepages: Bool) -> (RegionBacking, Bool, [String]) {
      let mode = access ?? backing.access
      var notes: [String] = []
      let b: RegionBacking
      if hugepages && backing.source == "memfd" {
        b = .memfd(hugetlb: true)
      } else if hugepages {
        b = .hugetlbfs(directory: "\(paths.hugetlbfsMount)/libvirt/qemu/\(shortName)")
        notes.append("libvirt creates its file in \(paths.hugetlbfsMount)/libvirt/qemu/\(shortName) when the domain starts")
      } else if backing.source == "file" {
        b = .file(path: "\(paths.memoryBackingDirectory)/\(shortName)/\(alias)")
        notes.append("libvirt creates \(paths.memoryBackingDirectory)/\(shortName)/\(alias) when the domain starts (memory_backing_dir)")
      } else if backing.source == "memfd" {
        b = .memfd(hugetlb: false)
      } else {
        b = .anonymous
      }
      // QEMU's defaults where libvirt sets no share=: memfd shared, everything else private.
      let shared = mode.map { $0 == "shared" } ?? (backing.source == "memfd")
      return (b, shared, notes)
    }

    // Boot RAM: one backend per NUMA cell, else pc.ram.
    let devices = domain.child("devices")?.children("memory") ?? []
    let cells = domain.descendant("cpu", "numa")?.children("cell") ?? []
    if !cells.isEmpty {
      for cell in cells {
        let id = cell["id"] ?? "\(cells.firstIndex(of: cell)!)"
        let label = "<numa><cell id='\(id)'>"
        guard let m = cell["memory"] else { throw .malformed("\(label): memory= missing") }
        let size = try scaled(m, unit: cell["unit"], label: label)
        if let a = cell["memAccess"], a != "shared" && a != "private" { throw .malformed("\(label): memAccess='\(a)': not shared or private") }
        let alias = "ram-node\(id)"
        let (b, shared, notes) = ramBacking(alias: alias, access: cell["memAccess"], hugepages: backing.hugepages)
        config.regions.append(
          MemoryRegion(
            id: alias, role: .numaNode, declaredBy: label, size: size, backing: b, shared: shared, prealloc: backing.prealloc,
            notes: ["RAM of NUMA node \(id)"] + notes))
      }
    } else {
      guard let memory = domain.child("memory") else { throw .malformed("<memory> missing") }
      var size = try scaled(memory.value, unit: memory["unit"], label: "<memory>")
      // <memory> counts the memory devices too; the boot RAM is what is left.
      var deviceTotal: UInt64 = 0
      for d in devices {
        if let e = d.descendant("target", "size") {
          deviceTotal += try scaled(e.value, unit: e["unit"], label: "<memory model='\(d["model"] ?? "")'><target><size>")
        }
      }
      if deviceTotal < size { size -= deviceTotal }
      let (b, shared, notes) = ramBacking(alias: "pc.ram", access: nil, hugepages: backing.hugepages)
      config.regions.append(
        MemoryRegion(id: "pc.ram", role: .ram, declaredBy: "<memory>", size: size, backing: b, shared: shared, prealloc: backing.prealloc, notes: notes))
    }
    if let max = domain.child("maxMemory") {
      let bytes = try scaled(max.value, unit: max["unit"], label: "<maxMemory>")
      config.notes.append(
        "<maxMemory slots='\(max["slots"] ?? "?")'>: up to \(ByteSize.describe(bytes)) with memory hotplugged at run time; check judges only the <memory> devices the XML names")
    }

    // Memory devices.
    var counters: [String: Int] = [:]
    for d in devices {
      guard let model = d["model"] else { throw .malformed("<memory> device without model=") }
      let role: RegionRole
      let prefix: String
      switch model {
      case "dimm": (role, prefix) = (.dimm, "dimm")
      case "nvdimm": (role, prefix) = (.nvdimm, "nvdimm")
      case "virtio-pmem": (role, prefix) = (.virtioPmem, "virtiopmem")
      case "virtio-mem": (role, prefix) = (.virtioMem, "virtiomem")
      default: throw .malformed("<memory model='\(model)'>: not dimm, nvdimm, virtio-pmem or virtio-mem")
      }
      let label = "<memory model='\(model)'>"
      let n = counters[prefix, default: 0]
      counters[prefix] = n + 1
      let alias = d.child("alias")?["name"] ?? "\(prefix)\(n)"
      guard let sizeElement = d.descendant("target", "size") else { throw .malformed("\(label): <target><size> missing") }
      let size = try scaled(sizeElement.value, unit: sizeElement["unit"], label: "\(label)<target><size>")
      if let a = d["access"], a != "shared" && a != "private" { throw .malformed("\(label): access='\(a)': not shared or private") }
      var region: MemoryRegion
      if role == .nvdimm || role == .virtioPmem {
        guard let path = d.descendant("source", "path")?.value, !path.isEmpty else { throw .malformed("\(label): <source><path> missing") }
        let mode = d["access"] ?? backing.access
        region = MemoryRegion(
          id: alias, role: role, declaredBy: label, size: size, backing: .file(path: path), shared: mode == "shared",
          readOnly: d.descendant("target", "readonly") != nil, pmem: d.descendant("source", "pmem") != nil)
        if let a = d.descendant("source", "alignsize") {
          region.align = try scaled(a.value, unit: a["unit"], label: "\(label)<source><alignsize>")
        }
      } else {
        let huge = backing.hugepages || d.descendant("source", "pagesize") != nil
        let (b, shared, notes) = ramBacking(alias: "mem\(alias)", access: d["access"], hugepages: huge)
        region = MemoryRegion(id: alias, role: role, declaredBy: label, size: size, backing: b, shared: shared, prealloc: backing.prealloc, notes: notes)
        if role == .virtioMem {
          if let blk = d.descendant("target", "block") {
            region.blockSize = try scaled(blk.value, unit: blk["unit"], label: "\(label)<target><block>")
          } else {
            region.blockSize = 2 << 20
          }
          var requested: UInt64?
          if let e = d.descendant("target", "requested") { requested = try scaled(e.value, unit: e["unit"], label: "\(label)<target><requested>") }
          region.notes.append(
            "virtio-mem plugs and unplugs blocks at run time: the guest sees at most \(ByteSize.describe(size)), \(requested.map { "\(ByteSize.describe($0)) requested" } ?? "none requested")")
        }
      }
      config.regions.append(region)
    }

    // Devices passed through.
    let deviceElements = domain.child("devices")?.children ?? []
    for h in deviceElements where h.name == "hostdev" || (h.name == "interface" && h["type"] == "hostdev") {
      let label = h.name == "hostdev" ? "<hostdev type='\(h["type"] ?? "")'>" : "<interface type='hostdev'>"
      if h.name == "hostdev" && h["mode"] != nil && h["mode"] != "subsystem" { continue }
      let type = h.name == "hostdev" ? h["type"] : "pci"
      guard type == "pci" || type == "mdev" else { continue }
      let path: PassthroughPath = h.child("driver")?["iommufd"] == "yes" ? .iommufd : .container
      guard let addr = h.descendant("source", "address") else { throw .malformed("\(label): <source><address> missing") }
      if type == "mdev" {
        guard let uuid = addr["uuid"] else { throw .malformed("\(label): <source><address uuid=> missing") }
        config.devices.append(PassthroughDevice(address: uuid, path: path, mdev: true, declaredBy: label))
        continue
      }
      let address = try pciAddress(addr, label: label)
      config.devices.append(PassthroughDevice(address: address, path: path, declaredBy: "\(label) \(address)"))
    }
    return config
  }

  /// `<address domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>` → `0000:00:03.0`.
  static func pciAddress(_ a: MarkupElement, label: String) throws(CheckProblem) -> String {
    func field(_ name: String, max: UInt32) throws(CheckProblem) -> UInt32 {
      guard let s = a[name] else {
        if name == "domain" { return 0 }
        throw .malformed("\(label): <source><address \(name)=> missing")
      }
      let hex = s.hasPrefix("0x") ? s.dropFirst(2) : Substring(s)
      guard let v = s.hasPrefix("0x") ? UInt32(hex, radix: 16) : UInt32(s), v <= max else {
        throw .malformed("\(label): <source><address \(name)='\(s)'>: not a PCI \(name)")
      }
      return v
    }
    let d = try field("domain", max: 0xffff)
    let b = try field("bus", max: 0xff)
    let s = try field("slot", max: 0x1f)
    let f = try field("function", max: 7)
    func hex(_ v: UInt32, _ w: Int) -> String {
      let h = String(v, radix: 16)
      return String(repeating: "0", count: max(0, w - h.count)) + h
    }
    return "\(hex(d, 4)):\(hex(b, 2)):\(hex(s, 2)).\(hex(f, 1))"
  }

  /// A number scaled by libvirt's `unit=` (KiB when absent).
  static func scaled(_ text: String, unit: String?, label: String) throws(CheckProblem) -> UInt64 {
    guard let factor = ByteSize.libvirtUnit(unit) else { throw .malformed("\(label): unit='\(unit!)' is not a unit") }
    guard let n = UInt64(text.trimmingCharacters(in: " \n\t\r")) else { throw .malformed("\(label): '\(text.trimmingCharacters(in: " \n\t\r"))' is not a number") }
    let (r, overflow) = n.multipliedReportingOverflow(by: factor)
    guard !overflow else { throw .malformed("\(label): \(text.trimmingCharacters(in: " \n\t\r")) \(unit ?? "KiB") is too large") }
    return r
  }
}

/// The parts of libvirt's `/etc/libvirt/qemu.conf` that decide where guest memory goes.
public enum LibvirtQEMUConf {
  /// The conventional location.
  public static let path = "/etc/libvirt/qemu.conf"

  /// `memory_backing_dir` and `hugetlbfs_mount` (the first, when it lists several), defaults for
  /// what the file does not set. The format is libvirt's config syntax: `key = "value"`, `#`
  /// comments, lists in `[...]`.
  public static func paths(in text: String) -> LibvirtDomainReader.Paths {
    var paths = LibvirtDomainReader.Paths()
    for raw in text.split(separator: "\n") {
      let line = raw.prefix { $0 != "#" }
      guard let eq = line.firstIndex(of: "=") else { continue }
      let key = String(line[..<eq]).trimmingCharacters(in: " \n\t\r")
      let rest = line[line.index(after: eq)...]
      guard let open = rest.firstIndex(of: "\"") else { continue }
      let after = rest[rest.index(after: open)...]
      guard let close = after.firstIndex(of: "\"") else { continue }
      let value = String(after[..<close])
      guard !value.isEmpty else { continue }
      switch key {
      case "memory_backing_dir": paths.memoryBackingDirectory = value
      case "hugetlbfs_mount": paths.hugetlbfsMount = value
      default: continue
      }
    }
    return paths
  }
}
