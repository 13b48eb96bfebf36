import DaxPinCore
import Synchronization

/// A simulated machine: a `FakeKernel` (or any kernel wrapping one, such as a `RecordingKernel`)
/// and an inventory derived from that kernel's state — its mounts, device nodes, VFIO groups and
/// hugetlb pool — never restated beside it. Labelled `fake` in every report.
public struct FakeHost: Host {
  public let fake: FakeKernel
  public let kernel: any Kernel
  public var backend: Backend { .fake }
  public var privileged: Bool { true }
  public var identity: Report.Host { Report.Host(hostname: "daxpin-fake", arch: "x86_64") }
  let clock = FakeClock()

  /// - Parameter kernel: the kernel probes go through; `fake` itself unless a test wraps it.
  public init(_ fake: FakeKernel, kernel: (any Kernel)? = nil) {
    self.fake = fake
    self.kernel = kernel ?? fake
  }

  /// A deterministic clock: 100 µs per reading.
  public func microseconds() -> UInt64 { clock.tick() }

  public func inventory() -> Inventory { fake.state.withLock { $0.inventory } }
}

extension FakeState {
  /// What `daxpin inventory` would print on the simulated host, read off the state.
  var inventory: Inventory {
    var regions: [NdRegion] = []
    var daxRegions: [DaxRegion] = []
    let nsSize = UInt64(layout.regionMiB - 10) << 20
    let region = UInt64(layout.regionMiB) << 20
    let daxMounts = mounts.compactMap { m -> DaxMount? in
      guard let dax = m.dax, let source = m.source else { return nil }
      return DaxMount(
        mountPoint: m.path, source: source, fstype: m.magic.description, daxOption: dax == .always ? "dax=always" : "dax=inode", statxDax: false)
    }
    for m in daxMounts where m.source.hasPrefix("/dev/pmem") {
      let n = regions.count
      regions.append(
        NdRegion(
          dev: "region\(n)", size: region, type: "pmem",
          namespaces: [
            NdNamespace(
              dev: "namespace\(n).0", mode: "fsdax", size: nsSize, align: UInt64(layout.align), blockdev: String(m.source.dropFirst(5)), map: "dev",
              enabled: true)
          ]))
    }
    for (path, node) in nodes.sorted(by: { $0.key < $1.key }) {
      guard case .devdax(let align, let size) = node.kind else { continue }
      let n = regions.count
      let name = String(path.dropFirst("/dev/".count))
      regions.append(
        NdRegion(
          dev: "region\(n)", size: region, type: "pmem",
          namespaces: [
            NdNamespace(
              dev: "namespace\(n).0", mode: "devdax", size: nsSize, align: UInt64(align), chardev: name, map: "dev", enabled: true)
          ]))
      daxRegions.append(
        DaxRegion(
          id: daxRegions.count, size: nsSize, align: UInt64(align),
          devices: [DaxDevice(chardev: name, size: UInt64(size), align: UInt64(align), mode: "devdax", enabled: true)]))
    }
    var groups: [IOMMUGroup] = []
    var groupNodes: [VFIOGroupNode] = []
    for (path, node) in nodes.sorted(by: { $0.key < $1.key }) {
      guard case .vfioGroup(let id) = node.kind else { continue }
      let cdev = nodes["/dev/vfio/devices/vfio0"] != nil ? "/dev/vfio/devices/vfio0" : nil
      groups.append(
        IOMMUGroup(id: id, type: "DMA", devices: [IOMMUGroupDevice(address: layout.vfioDevice, bus: "pci", driver: "vfio-pci", vfioCdev: cdev)]))
      groupNodes.append(VFIOGroupNode(id: id, node: path, noiommu: false))
    }
    let container = nodes["/dev/vfio/vfio"] != nil
    return Inventory(
      kernel: KernelInfo(
        release: profile.release, version: "#1 SMP daxpin fake (\(profile.rawValue))", machine: "x86_64",
        cmdline: "console=ttyS0 intel_iommu=on (simulated)", configSource: "simulated: \(profile.rawValue)", config: profile.config),
      privileges: Privileges(
        uid: Self.me.effectiveUID, capIPCLock: memlockKB == nil, memlockSoftBytes: memlockKB.map { UInt64($0) * 1024 },
        memlockHardBytes: memlockKB.map { UInt64($0) * 1024 }),
      iommu: IOMMUInfo(units: [IOMMUUnit(name: "dmar0", driver: "intel-iommu")], groups: groups),
      vfio: VFIOInfo(
        container: container, groups: groupNodes, deviceCdevs: nodes.keys.filter { $0.hasPrefix("/dev/vfio/devices/") }.sorted(),
        noiommuMode: container ? false : nil, dmaEntryLimit: container ? dmaEntryLimit : nil),
      iommufd: IOMMUFDInfo(present: nodes["/dev/iommu"] != nil),
      ioUring: IOUringInfo(
        available: profile.hasIOUring, disabledSysctl: profile.version >= KernelVersion(6, 6) ? 0 : nil,
        setupErrno: profile.hasIOUring ? nil : "ENOSYS"),
      pmem: PmemInfo(buses: regions.isEmpty ? [] : [NdBus(provider: pmem.busProvider, dev: "ndbus0", regions: busRegions(regions))], daxRegions: daxRegions),
      daxMounts: daxMounts, hugetlb: [HugetlbPool(pageSizeKB: 2048, total: hugetlbTotal, free: hugetlbFree)])
  }
}

extension FakeState {
  /// The regions as the lab's pmem mode lays them out: one per namespace, or (CXL) one region
  /// holding every namespace (`namespace0.N`), as `cxl create-region` and labels give it.
  func busRegions(_ perNamespace: [NdRegion]) -> [NdRegion] {
    guard layout.regions(pmem) == 1, perNamespace.count > 1 else { return perNamespace }
    var namespaces = perNamespace.flatMap(\.namespaces)
    for i in namespaces.indices { namespaces[i].dev = "namespace0.\(i)" }
    return [NdRegion(dev: "region0", size: UInt64(layout.cxlDeviceMiB) << 20, type: "pmem", namespaces: namespaces)]
  }
}

/// A deterministic monotonic clock: each reading is 100 µs after the last.
final class FakeClock: Sendable {
  let now = Atomic<UInt64>(0)
  func tick() -> UInt64 { now.add(100, ordering: .relaxed).newValue }
}
