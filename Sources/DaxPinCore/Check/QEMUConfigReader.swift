/// Reads a QEMU command line into a `VMConfig`: the RAM (`-machine memory-backend=`, `-numa
/// node,memdev=`, or the default RAM of `-m` and legacy `-mem-path`), the memory devices
/// (`pc-dimm`, `nvdimm`, `virtio-mem-*`, `virtio-pmem-pci`) with their `memory-backend-*`
/// objects, and the VFIO devices (`vfio-pci,host=|sysfsdev=`, `iommufd=` with `-object iommufd`).
/// A malformed configuration is one `CheckProblem.malformed` line naming the option.
public enum QEMUConfigReader {
  /// The RAM QEMU gives a machine when `-m` is absent (x86 and most machine types).
  public static let defaultRAMSize: UInt64 = 128 << 20

  /// One `-object memory-backend-*`.
  struct Backend {
    var id: String
    var type: String
    var options: QEMUOptionList
    var size: UInt64
    var label: String { "-object \(type),id=\(id)" }
  }

  /// - Parameter argv: the command line; a leading program name (`qemu-system-x86_64`) and other
  ///   words that are not options are skipped.
  public static func read(arguments argv: [String]) throws(CheckProblem) -> VMConfig {
    let args = try QEMUOptions.split(argv)
    var config = VMConfig(dialect: .qemu)
    var ramSize: (bytes: UInt64, text: String)?
    var slots: Int?
    var maxmem: UInt64?
    var machineType: String?
    var machineBackend: String?
    var memPath: String?
    var memPrealloc = false
    var backends: [String: Backend] = [:]
    var backendOrder: [String] = []
    var numa: [(node: String, memdev: String, text: String)] = []
    var memoryDevices: [(driver: String, options: QEMUOptionList)] = []
    var vfioDevices: [(driver: String, options: QEMUOptionList)] = []
    var iommufdObjects: Set<String> = []

    for arg in args {
      guard let value = arg.value else {
        if arg.option == "mem-prealloc" { memPrealloc = true }
        continue
      }
      switch arg.option {
      case "m":
        let o = try parse(value, implied: "size", option: "-m")
        if let s = o["size"] {
          guard let bytes = ByteSize.qemu(s, defaultUnit: 1 << 20) else { throw .malformed("-m \(value): size=\(s) is not a size") }
          ramSize = (bytes, value)
        }
        if let s = o["slots"] {
          guard let n = Int(s) else { throw .malformed("-m \(value): slots=\(s) is not a number") }
          slots = n
        }
        if let s = o["maxmem"] {
          guard let bytes = ByteSize.qemu(s) else { throw .malformed("-m \(value): maxmem=\(s) is not a size") }
          maxmem = bytes
        }
      case "machine", "M":
        let o = try parse(value, implied: "type", option: "-\(arg.option)")
        if let t = o["type"] { machineType = t }
        if let b = o["memory-backend"] { machineBackend = b }
      case "numa":
        let o = try parse(value, implied: "type", option: "-numa")
        guard o["type"] == "node", let memdev = o["memdev"] else { continue }
        numa.append((o["nodeid"] ?? "\(numa.count)", memdev, value))
      case "object":
        let o = try parse(value, implied: "qom-type", option: "-object", json: true)
        guard let type = o["qom-type"] else { throw .malformed("-object \(value): qom-type missing") }
        if type == "iommufd" {
          guard let id = o["id"] else { throw .malformed("-object iommufd: id= missing") }
          iommufdObjects.insert(id)
          continue
        }
        guard type.hasPrefix("memory-backend-") else { continue }
        guard let id = o["id"] else { throw .malformed("-object \(type): id= missing") }
        guard ["memory-backend-ram", "memory-backend-file", "memory-backend-memfd", "memory-backend-shm"].contains(type) else {
          throw .malformed("-object \(type),id=\(id): daxpin check does not know this memory backend")
        }
        let label = "-object \(type),id=\(id)"
        guard backends[id] == nil else { throw .malformed("\(label): id=\(id) is already used by \(backends[id]!.label)") }
        guard let s = o["size"] else { throw .malformed("\(label): size= missing") }
        guard let size = ByteSize.qemu(s) else { throw .malformed("\(label): size=\(s) is not a size") }
        guard size > 0 else { throw .malformed("\(label): size=\(s): can't create backend with size 0") }
        if type == "memory-backend-file" && o["mem-path"].map(\.isEmpty) ?? true { throw .malformed("\(label): mem-path= missing") }
        for key in ["share", "readonly", "pmem", "hugetlb", "prealloc", "rom", "discard-data"] {
          if let v = o[key], QEMUOptions.bool(v) == nil, !(key == "rom" && v == "auto") {
            throw .malformed("\(label): \(key)=\(v) is not on or off")
          }
        }
        if let a = o["align"], ByteSize.qemu(a) == nil { throw .malformed("\(label): align=\(a) is not a size") }
        if type == "memory-backend-shm", o["share"].flatMap(QEMUOptions.bool) == false {
          throw .malformed("\(label): share=off: memory-backend-shm is always shared")
        }
        backends[id] = Backend(id: id, type: type, options: o, size: size)
        backendOrder.append(id)
      case "device":
        let o = try parse(value, implied: "driver", option: "-device", json: true)
        guard let driver = o["driver"] else { throw .malformed("-device \(value): driver missing") }
        if memoryDeviceRoles[driver] != nil {
          memoryDevices.append((driver, o))
        } else if driver.hasPrefix("vfio-") && !driver.hasPrefix("vfio-user") {
          vfioDevices.append((driver, o))
        }
      case "mem-path":
        memPath = value
      case "name":
        config.name = try parse(value, implied: "guest", option: "-name")["guest"]
      default:
        continue
      }
    }

    var used: [String: String] = [:]
    func take(_ id: String, by user: String) throws(CheckProblem) -> Backend {
      guard let b = backends[id] else { throw .malformed("\(user): no -object memory-backend-* with id=\(id)") }
      if let other = used[id] { throw .malformed("\(user): memory backend \(id) is already used by \(other)") }
      used[id] = user
      return b
    }

    // Boot RAM.
    if let id = machineBackend {
      let b = try take(id, by: "-machine memory-backend=\(id)")
      if let ram = ramSize, ram.bytes != b.size {
        throw .malformed(
          "-m \(ram.text): \(ByteSize.describe(ram.bytes)) does not match the size of memory backend \(id) (\(ByteSize.describe(b.size)))")
      }
      config.regions.append(region(b, role: .ram, memPrealloc: memPrealloc))
    } else if !numa.isEmpty {
      var total: UInt64 = 0
      for n in numa {
        let b = try take(n.memdev, by: "-numa \(n.text)")
        total += b.size
        var r = region(b, role: .numaNode, memPrealloc: memPrealloc)
        r.notes.insert("RAM of NUMA node \(n.node)", at: 0)
        config.regions.append(r)
      }
      if let ram = ramSize, ram.bytes != total {
        throw .malformed("-numa: total memory for NUMA nodes (\(ByteSize.describe(total))) should equal the RAM size of -m \(ram.text)")
      }
    } else {
      let size = ramSize?.bytes ?? defaultRAMSize
      let id = defaultRAMID(machineType)
      var notes: [String] = []
      if ramSize == nil { notes.append("no -m: QEMU's default of \(ByteSize.describe(defaultRAMSize))") }
      if let path = memPath {
        config.regions.append(
          MemoryRegion(
            id: id, role: .ram, declaredBy: "-mem-path \(path)", size: size, backing: .file(path: path), shared: false, prealloc: memPrealloc,
            notes: notes))
      } else {
        config.regions.append(
          MemoryRegion(
            id: id, role: .ram, declaredBy: ramSize.map { "-m \($0.text)" } ?? "QEMU's default RAM", size: size, backing: .anonymous,
            shared: false, prealloc: memPrealloc, notes: notes))
      }
    }

    // Memory devices, in the order given.
    for (driver, o) in memoryDevices {
      let label = "-device \(driver)" + (o["id"].map { ",id=\($0)" } ?? "")
      guard let memdev = o["memdev"] else { throw .malformed("\(label): memdev= missing") }
      let b = try take(memdev, by: "\(label),memdev=\(memdev)")
      var r = region(b, role: memoryDeviceRoles[driver]!, memPrealloc: false)
      r.declaredBy = "\(label),memdev=\(memdev) (\(b.label))"
      if r.role == .virtioMem {
        if let s = o["block-size"] {
          guard let bs = ByteSize.qemu(s), bs > 0 else { throw .malformed("\(label): block-size=\(s) is not a size") }
          r.blockSize = bs
        } else {
          r.blockSize = max(2 << 20, b.options["hugetlbsize"].flatMap { ByteSize.qemu($0) } ?? 0)
        }
        r.notes.append("virtio-mem plugs and unplugs blocks at run time: the guest sees at most \(ByteSize.describe(b.size)), \(o["requested-size"].map { "requested-size=\($0) at start" } ?? "none plugged at start")")
      }
      config.regions.append(r)
    }
    for id in backendOrder where used[id] == nil {
      config.notes.append("\(backends[id]!.label) is not used by -machine, -numa or a memory device: QEMU does not map it for DMA")
    }
    if let slots, let maxmem, let ram = ramSize, maxmem > ram.bytes {
      config.notes.append(
        "-m \(ram.text): \(slots) slots, up to \(ByteSize.describe(maxmem - ram.bytes)) more can be hotplugged at run time; check judges only what the command line names")
    }

    // Devices passed through.
    for (driver, o) in vfioDevices {
      let label = "-device \(driver)"
      let address: String
      var mdev = driver == "vfio-ccw" || driver == "vfio-ap"
      if let host = o["host"] {
        address = pciAddress(host)
      } else if let sysfs = o["sysfsdev"] {
        address = sysfs.split(separator: "/").last.map(String.init) ?? sysfs
        mdev = mdev || sysfs.contains("/mdev") || isUUID(address)
      } else if let fd = o["fd"] {
        address = "fd=\(fd)"
      } else {
        throw .malformed("\(label)\(o["id"].map { ",id=\($0)" } ?? ""): host= or sysfsdev= missing")
      }
      var path = PassthroughPath.container
      if let iommufd = o["iommufd"] {
        guard iommufdObjects.contains(iommufd) else { throw .malformed("\(label),host=\(address): iommufd=\(iommufd): no -object iommufd,id=\(iommufd)") }
        path = .iommufd
      }
      config.devices.append(
        PassthroughDevice(address: address, path: path, mdev: mdev, declaredBy: "\(label),\(o["host"] != nil ? "host" : o["sysfsdev"] != nil ? "sysfsdev" : "fd")=\(o["host"] ?? o["sysfsdev"] ?? o["fd"]!)"))
    }
    return config
  }

  static let memoryDeviceRoles: [String: RegionRole] = [
    "pc-dimm": .dimm, "nvdimm": .nvdimm, "virtio-mem-pci": .virtioMem, "virtio-mem-ccw": .virtioMem, "virtio-mem-device": .virtioMem,
    "virtio-pmem-pci": .virtioPmem,
  ]

  /// The id QEMU gives the default RAM backend (`MachineClass.default_ram_id`).
  static func defaultRAMID(_ machine: String?) -> String {
    guard let m = machine else { return "pc.ram" }
    if m.hasPrefix("virt") { return "mach-virt.ram" }
    if m.hasPrefix("s390-ccw") { return "s390.ram" }
    if m.hasPrefix("pseries") { return "ppc_spapr.ram" }
    if m == "microvm" { return "microvm.ram" }
    return "pc.ram"
  }

  /// A backend as the listener sees it.
  static func region(_ b: Backend, role: RegionRole, memPrealloc: Bool) -> MemoryRegion {
    let o = b.options
    func flag(_ key: String, _ fallback: Bool) -> Bool { o[key].flatMap(QEMUOptions.bool) ?? fallback }
    let backing: RegionBacking
    var shared = flag("share", false)
    var notes: [String] = []
    switch b.type {
    case "memory-backend-file": backing = .file(path: o["mem-path"]!)
    case "memory-backend-memfd":
      backing = .memfd(hugetlb: flag("hugetlb", false))
      shared = flag("share", true)
    case "memory-backend-shm":
      backing = .posixSharedMemory
      shared = true
    default: backing = .anonymous
    }
    // QEMU 8.2+: rom=auto (the default) follows readonly=.
    let readonly = flag("readonly", false)
    let rom = o["rom"].flatMap(QEMUOptions.bool) ?? readonly
    if readonly && !rom { notes.append("readonly=on,rom=off: QEMU maps the file read-only and private; the guest's writes go to anonymous copies") }
    return MemoryRegion(
      id: b.id, role: role, declaredBy: b.label, size: b.size, backing: backing, shared: shared && !(readonly && !rom), readOnly: rom,
      align: o["align"].flatMap { ByteSize.qemu($0) }, pmem: flag("pmem", false), prealloc: flag("prealloc", false) || (role == .ram && memPrealloc),
      notes: notes)
  }

  /// `03:00.0` → `0000:03:00.0`; other spellings as given.
  static func pciAddress(_ s: String) -> String {
    let parts = s.split(separator: ":")
    return parts.count == 2 ? "0000:" + s : s
  }

  static func isUUID(_ s: String) -> Bool {
    let groups = s.split(separator: "-", omittingEmptySubsequences: false)
    return groups.map(\.count) == [8, 4, 4, 4, 12] && s.allSatisfy { $0 == "-" || $0.isHexDigit }
  }

  static func parse(_ text: String, implied: String, option: String, json: Bool = false) throws(CheckProblem) -> QEMUOptionList {
    do {
      return try QEMUOptions.parse(text, impliedKey: implied, json: json)
    } catch {
      throw .malformed("\(option) \(text): \(error.message)")
    }
  }
}
