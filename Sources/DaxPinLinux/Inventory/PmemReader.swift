import CDaxctl
import DaxPinCore
import Glibc
import SystemPackage

/// Walks libndctl (buses → regions → namespaces) and libdaxctl (regions → devices). The C
/// `*_foreach` macros do not import into Swift, so this follows the `*_get_first` / `*_get_next`
/// chains they expand to. Never reconfigures anything: read-only calls only.
enum PmemReader {
  static func read() -> PmemInfo {
    var ndctx: OpaquePointer?
    let rc = ndctl_new(&ndctx)  // 0 or a negative errno, not -1/errno
    guard rc == 0, let ndctx else {
      return PmemInfo(error: "ndctl_new: \(Errno(rawValue: -rc).name)")
    }
    defer { _ = ndctl_unref(ndctx) }
    let buses = chain(ndctl_bus_get_first(ndctx), ndctl_bus_get_next).map(bus)

    var daxctx: OpaquePointer?
    let drc = daxctl_new(&daxctx)
    guard drc == 0, let daxctx else {
      return PmemInfo(buses: buses, error: "daxctl_new: \(Errno(rawValue: -drc).name)")
    }
    defer { daxctl_unref(daxctx) }
    let regions = chain(daxctl_region_get_first(daxctx), daxctl_region_get_next).map(daxRegion)
    return PmemInfo(buses: buses, daxRegions: regions)
  }

  static func chain(_ first: OpaquePointer?, _ next: (OpaquePointer) -> OpaquePointer?) -> [OpaquePointer] {
    var out: [OpaquePointer] = []
    var cur = first
    while let c = cur {
      out.append(c)
      cur = next(c)
    }
    return out
  }

  static func string(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

  static func bus(_ b: OpaquePointer) -> NdBus {
    NdBus(
      provider: string(ndctl_bus_get_provider(b)) ?? "unknown", dev: string(ndctl_bus_get_devname(b)) ?? "?",
      regions: chain(ndctl_region_get_first(b), ndctl_region_get_next).map(region))
  }

  static func region(_ r: OpaquePointer) -> NdRegion {
    let align = UInt64(ndctl_region_get_align(r))
    return NdRegion(
      dev: string(ndctl_region_get_devname(r)) ?? "?", size: UInt64(ndctl_region_get_size(r)),
      availableSize: UInt64(ndctl_region_get_available_size(r)), align: align == 0 || align == UInt64(UInt.max) ? nil : align,
      type: string(ndctl_region_get_type_name(r)),
      namespaces: chain(ndctl_namespace_get_first(r), ndctl_namespace_get_next)
        .map(namespace)
        .filter { $0.size > 0 })  // idle seed namespaces: ndctl list leaves them out too
  }

  static func namespace(_ ns: OpaquePointer) -> NdNamespace {
    let mode = ndctl_namespace_get_mode(ns)
    var out = NdNamespace(
      dev: string(ndctl_namespace_get_devname(ns)) ?? "?", mode: modeName(mode),
      size: UInt64(ndctl_namespace_get_size(ns)), enabled: ndctl_namespace_is_active(ns))
    if mode == NDCTL_NS_MODE_FSDAX, let pfn = ndctl_namespace_get_pfn(ns) {
      out.align = UInt64(ndctl_pfn_get_align(pfn))
      out.blockdev = string(ndctl_pfn_get_block_device(pfn))
      out.size = UInt64(ndctl_pfn_get_size(pfn))
      out.map = location(ndctl_pfn_get_location(pfn))
    } else if mode == NDCTL_NS_MODE_DEVDAX, let dax = ndctl_namespace_get_dax(ns) {
      out.align = UInt64(ndctl_dax_get_align(dax))
      out.size = UInt64(ndctl_dax_get_size(dax))
      out.map = location(ndctl_dax_get_location(dax))
      if let region = ndctl_dax_get_daxctl_region(dax), let dev = daxctl_dev_get_first(region) {
        out.chardev = string(daxctl_dev_get_devname(dev))
      }
    } else if mode == NDCTL_NS_MODE_SECTOR, let btt = ndctl_namespace_get_btt(ns) {
      out.blockdev = string(ndctl_btt_get_block_device(btt))
    } else {
      out.blockdev = string(ndctl_namespace_get_block_device(ns)).flatMap { $0.isEmpty ? nil : $0 }
    }
    return out
  }

  static func modeName(_ m: ndctl_namespace_mode) -> String {
    switch m {
    case NDCTL_NS_MODE_FSDAX: "fsdax"
    case NDCTL_NS_MODE_DEVDAX: "devdax"
    case NDCTL_NS_MODE_SECTOR: "sector"
    case NDCTL_NS_MODE_RAW: "raw"
    default: "unknown"
    }
  }

  static func location(_ l: ndctl_pfn_loc) -> String? {
    switch l {
    case NDCTL_PFN_LOC_PMEM: "dev"
    case NDCTL_PFN_LOC_RAM: "mem"
    default: nil
    }
  }

  static func daxRegion(_ r: OpaquePointer) -> DaxRegion {
    DaxRegion(
      id: Int(daxctl_region_get_id(r)), size: UInt64(daxctl_region_get_size(r)),
      availableSize: UInt64(daxctl_region_get_available_size(r)), align: UInt64(daxctl_region_get_align(r)),
      path: string(daxctl_region_get_path(r)),
      devices: chain(daxctl_dev_get_first(r), daxctl_dev_get_next).compactMap { d in
        let name = string(daxctl_dev_get_devname(d)) ?? "?"
        let size = UInt64(daxctl_dev_get_size(d))
        if size == 0 { return nil }  // the idle seed device
        // daxctl list: a device bound to kmem has a memory object and is "system-ram".
        let mode = daxctl_dev_get_memory(d) != nil ? "system-ram" : "devdax"
        return DaxDevice(
          chardev: name, size: size, align: UInt64(daxctl_dev_get_align(d)), mode: mode,
          enabled: daxctl_dev_is_enabled(d) != 0)
      })
  }
}
