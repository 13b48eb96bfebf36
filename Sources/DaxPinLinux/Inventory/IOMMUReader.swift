import DaxPinCore

/// IOMMU units from `/sys/class/iommu` and groups from `/sys/kernel/iommu_groups`.
struct IOMMUReader {
  var files: FileTree

  func read() -> IOMMUInfo {
    let units = files.list("/sys/class/iommu").map { name in
      IOMMUUnit(name: name, driver: Self.driver(forUnit: name, files: files))
    }
    let groups = files.list("/sys/kernel/iommu_groups").compactMap { entry -> IOMMUGroup? in
      guard let id = Int(entry) else { return nil }
      let base = "/sys/kernel/iommu_groups/\(entry)"
      let devices = files.list("\(base)/devices").map { dev in
        IOMMUGroupDevice(
          address: dev, bus: files.linkBasename("\(base)/devices/\(dev)/subsystem"),
          driver: files.linkBasename("\(base)/devices/\(dev)/driver"),
          vfioCdev: files.list("\(base)/devices/\(dev)/vfio-dev").first.map { "/dev/vfio/devices/\($0)" })
      }
      return IOMMUGroup(id: id, type: files.line("\(base)/type"), devices: devices)
    }
    return IOMMUInfo(units: units, groups: groups.sorted { $0.id < $1.id })
  }

  /// `dmar0` → intel-iommu, `ivhd0` → amd-iommu; otherwise the device's bound driver or the name.
  static func driver(forUnit name: String, files: FileTree) -> String {
    if name.hasPrefix("dmar") { return "intel-iommu" }
    if name.hasPrefix("ivhd") { return "amd-iommu" }
    return files.linkBasename("/sys/class/iommu/\(name)/device/driver") ?? name
  }
}

/// The VFIO nodes under /dev/vfio and the vfio / vfio_iommu_type1 module parameters.
struct VFIOReader {
  var files: FileTree

  func read() -> VFIOInfo {
    let entries = files.list("/dev/vfio")
    let groups = entries.compactMap { name -> VFIOGroupNode? in
      if let id = Int(name) { return VFIOGroupNode(id: id, node: "/dev/vfio/\(name)", noiommu: false) }
      if name.hasPrefix("noiommu-"), let id = Int(name.dropFirst("noiommu-".count)) {
        return VFIOGroupNode(id: id, node: "/dev/vfio/\(name)", noiommu: true)
      }
      return nil
    }
    let noiommu = files.line("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode").map { $0 == "Y" || $0 == "1" }
    return VFIOInfo(
      container: files.exists("/dev/vfio/vfio"), groups: groups,
      deviceCdevs: files.list("/dev/vfio/devices").map { "/dev/vfio/devices/\($0)" },
      noiommuMode: noiommu, dmaEntryLimit: files.int("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"))
  }
}
