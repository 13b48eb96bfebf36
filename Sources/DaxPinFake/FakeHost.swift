import DaxPinCore

extension FakeKernel {
  /// The inventory of the simulated host: what `daxpin inventory` would print on it. Mirrors the
  /// lab guest for the full topology (an e820 bus with two fsdax namespaces under ext4 and xfs
  /// DAX mounts, a devdax namespace, a VFIO group holding one device bound to vfio-pci).
  public var inventory: Inventory {
    let (memlock, cap) = state.withLock { ($0.memlockKB, $0.memlockKB == nil) }
    var namespaces: [NdRegion] = []
    var daxRegions: [DaxRegion] = []
    var mounts: [DaxMount] = []
    let nsSize: UInt64 = 526_385_152
    if topology.hasFsdax {
      namespaces += [
        NdRegion(dev: "region0", size: 536_870_912, type: "pmem", namespaces: [NdNamespace(dev: "namespace0.0", mode: "fsdax", size: nsSize, align: 2 << 20, blockdev: "pmem0", map: "dev", enabled: true)]),
        NdRegion(dev: "region1", size: 536_870_912, type: "pmem", namespaces: [NdNamespace(dev: "namespace1.0", mode: "fsdax", size: nsSize, align: 2 << 20, blockdev: "pmem1", map: "dev", enabled: true)]),
      ]
      mounts = [
        DaxMount(mountPoint: "/mnt/fsdax-ext4", source: "/dev/pmem0", fstype: "ext4", daxOption: "dax=always", statxDax: false),
        DaxMount(mountPoint: "/mnt/fsdax-xfs", source: "/dev/pmem1", fstype: "xfs", daxOption: "dax=always", statxDax: false),
      ]
    }
    if topology.hasDevdax {
      namespaces.append(
        NdRegion(dev: "region2", size: 536_870_912, type: "pmem", namespaces: [NdNamespace(dev: "namespace2.0", mode: "devdax", size: nsSize, align: 2 << 20, chardev: "dax0.0", map: "dev", enabled: true)]))
      daxRegions = [DaxRegion(id: 0, size: nsSize, align: 2 << 20, devices: [DaxDevice(chardev: "dax0.0", size: 502 << 20, align: 2 << 20, mode: "devdax", enabled: true)])]
    }
    let device = IOMMUGroupDevice(
      address: "0000:00:03.0", bus: "pci", driver: "vfio-pci", vfioCdev: profile.hasIOMMUFD ? "/dev/vfio/devices/vfio0" : nil)
    return Inventory(
      kernel: KernelInfo(
        release: profile.release, version: "#1 SMP daxpin fake (\(profile.rawValue))", machine: "x86_64",
        cmdline: "console=ttyS0 intel_iommu=on (simulated)", configSource: "simulated: \(profile.rawValue)", config: profile.config),
      privileges: Privileges(uid: 0, capIPCLock: cap, memlockSoftBytes: memlock.map { UInt64($0) * 1024 }, memlockHardBytes: memlock.map { UInt64($0) * 1024 }),
      iommu: IOMMUInfo(
        units: [IOMMUUnit(name: "dmar0", driver: "intel-iommu")],
        groups: topology.hasVFIO ? [IOMMUGroup(id: FakeState.groupID, type: "DMA", devices: [device])] : []),
      vfio: VFIOInfo(
        container: topology.hasVFIO, groups: topology.hasVFIO ? [VFIOGroupNode(id: FakeState.groupID, node: "/dev/vfio/\(FakeState.groupID)", noiommu: false)] : [],
        deviceCdevs: profile.hasIOMMUFD && topology.hasVFIO ? ["/dev/vfio/devices/vfio0"] : [], noiommuMode: topology.hasVFIO ? false : nil,
        dmaEntryLimit: topology.hasVFIO ? state.withLock { $0.dmaEntryLimit } : nil),
      iommufd: IOMMUFDInfo(present: profile.hasIOMMUFD),
      ioUring: IOUringInfo(
        available: profile.hasIOUring, disabledSysctl: profile.version >= KernelVersion(6, 6) ? 0 : nil,
        setupErrno: profile.hasIOUring ? nil : "ENOSYS"),
      pmem: PmemInfo(buses: namespaces.isEmpty ? [] : [NdBus(provider: "e820", dev: "ndbus0", regions: namespaces)], daxRegions: daxRegions),
      daxMounts: mounts, hugetlb: [HugetlbPool(pageSizeKB: 2048, total: 16, free: state.withLock { $0.hugetlbFree })])
  }

  /// A whole probe run against this simulated kernel: the report `daxpin probe --backend fake` prints.
  public func probeReport(
    toolVersion: String, options: ProbeOptions = ProbeOptions(pagecacheDirectory: "/mnt/pagecache"),
    interfaces: [Interface] = Interface.allCases, kinds: [MemoryKind] = MemoryKind.allCases, accesses: [Access] = Access.allCases
  ) -> Report {
    let inv = inventory
    let targets = ProbeTargets.resolve(inventory: inv, options: options)
    let engine = ProbeEngine(
      kernel: self, targets: targets, features: KernelFeatures(inv.kernel), interfaces: interfaces, kinds: kinds, accesses: accesses)
    let results = (try? engine.run()) ?? []
    return Report(
      toolVersion: toolVersion, backend: "fake", simulated: true, host: .init(hostname: "daxpin-fake", arch: "x86_64"), inventory: inv,
      probes: results)
  }
}
