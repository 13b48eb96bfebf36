import SystemPackage

/// Misuse cases with a known kernel answer, written once against the seam: the fake answers
/// them in `swift test`, real kernels answer them in the lab (`daxpin contract` in the guest),
/// and the lab fails when a kernel and its profile disagree. An answer is `ok`, `ok <n>`, an
/// errno name, or `unsupported: <why>` (not compared).
public enum MisuseScenarios {
  public struct Context: Sendable {
    public var containerPath: String
    public var groupNode: String?
    public var devdax: DevdaxTarget?
    public init(containerPath: String = "/dev/vfio/vfio", groupNode: String?, devdax: DevdaxTarget?) {
      self.containerPath = containerPath
      self.groupNode = groupNode
      self.devdax = devdax
    }
    public init(targets: ProbeTargets) {
      self.init(groupNode: targets.vfioContainer ? targets.vfioGroup?.node : nil, devdax: targets.devdax)
    }
  }

  public static let names = [
    "vfio.set-iommu-without-group", "vfio.map-before-set-iommu", "vfio.overlapping-map", "vfio.unaligned-map",
    "vfio.iova-outside-windows", "vfio.unmap-reports-size", "vfio.group-opened-twice", "devdax.private-mmap",
    "devdax.unaligned-mmap", "io_uring.register-twice", "io_uring.unregister-without-buffers", "io_uring.unmapped-buffer",
  ]

  /// Runs every scenario; each releases what it took before the next starts.
  public static func run(_ k: any Kernel, _ ctx: Context) -> [String: String] {
    var out: [String: String] = [:]
    for name in names {
      let cleanup = Cleanup()
      out[name] = answer(name, k, ctx, cleanup)
      cleanup.run()
    }
    return out
  }

  static let mib2: UInt64 = 2 << 20

  private static func answer(_ name: String, _ k: any Kernel, _ ctx: Context, _ cleanup: Cleanup) -> String {
    func text<T>(_ r: Result<T, Errno>) -> String {
      switch r {
      case .success(let v as UInt64): "ok \(v)"
      case .success: "ok"
      case .failure(let e): e.name
      }
    }
    func anon() -> Mapping? {
      guard case .success(let m) = k.map(length: Int(mib2 * 2), protection: .readWrite, source: .anonymous(hugetlb: false)) else { return nil }
      cleanup.add("munmap") { _ = k.unmap(m) }
      _ = k.fault(m, pageSize: 4096, write: true)
      return m
    }
    func open(_ path: String) -> FileDescriptor? {
      guard case .success(let fd) = k.open(path, writable: true, create: false) else { return nil }
      cleanup.add("close") { k.close(fd) }
      return fd
    }
    /// A container with the group attached; with `iommu`, also VFIO_SET_IOMMU(type1v2).
    func container(iommu: Bool) -> FileDescriptor? {
      guard let node = ctx.groupNode, let c = open(ctx.containerPath), let g = open(node) else { return nil }
      guard case .success = k.vfioGroupSetContainer(g, c) else { return nil }
      cleanup.add("unset") { _ = k.vfioGroupUnsetContainer(g) }
      if iommu, case .failure = k.vfioSetIOMMU(c, .type1v2) { return nil }
      return c
    }
    let noVFIO = "unsupported: no VFIO group"
    switch name {
    case "vfio.set-iommu-without-group":
      guard ctx.groupNode != nil, let c = open(ctx.containerPath) else { return noVFIO }
      return text(k.vfioSetIOMMU(c, .type1v2))
    case "vfio.map-before-set-iommu":
      guard let c = container(iommu: false), let m = anon() else { return noVFIO }
      return text(k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address), iova: mib2, size: mib2, access: .rw)))
    case "vfio.overlapping-map":
      guard let c = container(iommu: true), let m = anon() else { return noVFIO }
      guard case .success = k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address), iova: mib2 * 4, size: mib2, access: .rw)) else {
        return "unsupported: first map failed"
      }
      defer { _ = k.vfioUnmapDMA(c, iova: mib2 * 4, size: mib2) }
      return text(k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address) + mib2, iova: mib2 * 4 + 4096, size: mib2 - 4096, access: .rw)))
    case "vfio.unaligned-map":
      guard let c = container(iommu: true), let m = anon() else { return noVFIO }
      return text(k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address), iova: mib2, size: 4097, access: .rw)))
    case "vfio.iova-outside-windows":
      guard let c = container(iommu: true), let m = anon() else { return noVFIO }
      return text(k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address), iova: 1 << 60, size: mib2, access: .rw)))
    case "vfio.unmap-reports-size":
      guard let c = container(iommu: true), let m = anon() else { return noVFIO }
      for i in 0..<2 {
        let r = k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address) + UInt64(i) * mib2, iova: mib2 * UInt64(8 + i), size: mib2, access: .rw))
        if case .failure(let e) = r { return "unsupported: map failed with \(e.name)" }
      }
      return text(k.vfioUnmapDMA(c, iova: mib2 * 8, size: mib2 * 2))
    case "vfio.group-opened-twice":
      guard let node = ctx.groupNode, open(node) != nil else { return noVFIO }
      let second = k.open(node, writable: true, create: false)
      if case .success(let fd) = second { k.close(fd) }
      return text(second)
    case "devdax.private-mmap", "devdax.unaligned-mmap":
      guard let dev = ctx.devdax, let fd = open(dev.path) else { return "unsupported: no devdax" }
      let priv = name == "devdax.private-mmap"
      let r = k.map(length: priv ? dev.align : 4096, protection: .readWrite, source: .file(fd, shared: !priv))
      if case .success(let m) = r { _ = k.unmap(m) }
      return text(r)
    case "io_uring.register-twice", "io_uring.unregister-without-buffers", "io_uring.unmapped-buffer":
      guard case .success(let ring) = k.ioUringSetup(entries: 1) else { return "unsupported: no io_uring" }
      cleanup.add("close ring") { k.close(ring) }
      if name == "io_uring.unregister-without-buffers" { return text(k.ioUringUnregisterBuffers(ring)) }
      guard let m = anon() else { return "unsupported: no memory" }
      if name == "io_uring.unmapped-buffer" {
        // An address range with nothing mapped: the mapping is made, then unmapped.
        guard case .success(let hole) = k.map(length: Int(mib2), protection: .readWrite, source: .anonymous(hugetlb: false)) else {
          return "unsupported: no memory"
        }
        _ = k.unmap(hole)
        return text(k.ioUringRegisterBuffers(ring, [hole]))
      }
      guard case .success = k.ioUringRegisterBuffers(ring, [m]) else { return "unsupported: first register failed" }
      defer { _ = k.ioUringUnregisterBuffers(ring) }
      return text(k.ioUringRegisterBuffers(ring, [m]))
    default:
      return "unsupported: unknown scenario"
    }
  }

  /// Scenario disagreements between a real kernel's answers and its profile's.
  public static func differences(real: [String: String], model: [String: String]) -> [String] {
    names.compactMap { n in
      guard let r = real[n], let m = model[n], !r.hasPrefix("unsupported"), !m.hasPrefix("unsupported") else { return nil }
      return r == m ? nil : "\(n): kernel \(r), profile \(m)"
    }
  }
}
