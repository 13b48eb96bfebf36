/// The human form of `daxpin inventory`: sections, then what is absent and how to enable it.
public enum InventoryText {
  public static func render(_ inv: Inventory) -> String {
    var lines: [String] = []
    func section(_ title: String) { lines.append(""); lines.append(title) }
    func item(_ key: String, _ value: String) { lines.append("  \(key.padding(to: 22)) \(value)") }

    section("Kernel")
    item("release", inv.kernel.release)
    if let c = inv.kernel.cmdline { item("cmdline", c) }
    item("config", inv.kernel.configSource)
    if let config = inv.kernel.config {
      for name in KernelInfo.relevantOptions {
        item(String(name.dropFirst("CONFIG_".count)), config[name] ?? "-")
      }
    }

    section("Privileges")
    item("uid", "\(inv.privileges.uid)\(inv.privileges.isRoot ? " (root)" : "")")
    item("CAP_IPC_LOCK", inv.privileges.capIPCLock ? "yes" : "no")
    item("RLIMIT_MEMLOCK", inv.privileges.memlockSoftBytes.map { Bytes.human($0) } ?? "unlimited")

    section("IOMMU")
    item("driver", inv.iommu.driver ?? "none")
    item("groups", "\(inv.iommu.groups.count)")
    for g in inv.iommu.groups {
      let devs = g.devices.map { "\($0.address) [\($0.driver ?? "no driver")]" }.joined(separator: ", ")
      item("  group \(g.id)", "\(g.type.map { "\($0): " } ?? "")\(devs)")
    }

    section("VFIO")
    item("/dev/vfio/vfio", inv.vfio.container ? "present" : "absent")
    item("group nodes", inv.vfio.groups.isEmpty ? "none" : inv.vfio.groups.map(\.node).joined(separator: " "))
    item("device cdevs", inv.vfio.deviceCdevs.isEmpty ? "none" : inv.vfio.deviceCdevs.joined(separator: " "))
    item("noiommu mode", inv.vfio.noiommuMode.map { $0 ? "on" : "off" } ?? "-")
    item("dma_entry_limit", inv.vfio.dmaEntryLimit.map(String.init) ?? "-")
    item("/dev/iommu", inv.iommufd.present ? "present" : "absent")

    section("io_uring")
    item("io_uring_setup", inv.ioUring.available ? "works" : "fails (\(inv.ioUring.setupErrno ?? "?"))")
    item("io_uring_disabled", inv.ioUring.disabledSysctl.map(String.init) ?? "-")

    section("Persistent memory")
    if inv.pmem.buses.isEmpty { item("buses", "none") }
    for bus in inv.pmem.buses {
      item(bus.dev, "provider \(bus.provider)")
      for r in bus.regions {
        item("  \(r.dev)", "\(r.type ?? "?") \(Bytes.human(r.size))\(r.align.map { " align \(Bytes.human($0))" } ?? "")")
        for ns in r.namespaces {
          let dev = ns.blockdev.map { "/dev/\($0)" } ?? ns.chardev.map { "/dev/\($0)" } ?? ""
          item("    \(ns.dev)", "\(ns.mode) \(Bytes.human(ns.size))\(ns.align.map { " align \(Bytes.human($0))" } ?? "") \(dev)")
        }
      }
    }
    for r in inv.pmem.daxRegions {
      item("dax region \(r.id)", "\(Bytes.human(r.size)) align \(Bytes.human(r.align))")
      for d in r.devices {
        item("  \(d.chardev)", "\(d.mode) \(Bytes.human(d.size)) align \(Bytes.human(d.align))")
      }
    }

    section("DAX mounts")
    if inv.daxMounts.isEmpty { item("mounts", "none") }
    for m in inv.daxMounts {
      item(m.mountPoint, "\(m.fstype) \(m.source) \(m.daxOption) statx DAX: \(m.statxDax.map { $0 ? "yes" : "no" } ?? "?")")
    }

    section("hugetlb")
    if inv.hugetlb.isEmpty { item("pools", "none") }
    for p in inv.hugetlb { item("\(p.pageSizeKB) kB", "\(p.free) free of \(p.total)") }

    let findings = inv.findings
    if !findings.isEmpty {
      section("Absent or notable")
      for f in findings {
        lines.append("  \(f.level == .absent ? "ABSENT" : "NOTE  ") \(f.subject): \(f.message)")
        if let hint = f.hint { lines.append("         to enable: \(hint)") }
      }
    }
    return lines.dropFirst().joined(separator: "\n") + "\n"
  }
}

/// Byte counts for people: `2.00 MiB`.
public enum Bytes {
  public static func human(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024 && i < units.count - 1 {
      v /= 1024
      i += 1
    }
    if i == 0 { return "\(n) B" }
    let scaled = (v * 100).rounded() / 100
    return v == v.rounded() ? "\(Int(v)) \(units[i])" : "\(scaled) \(units[i])"
  }
}

extension String {
  func padding(to width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
