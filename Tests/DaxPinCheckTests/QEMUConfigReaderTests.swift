import Testing

@testable import DaxPinCore

/// Splits a command line as a shell would for these fixtures (no quoting needed in them).
func words(_ s: String) -> [String] { s.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\\" }).map(String.init) }

@Suite("QEMU command lines into regions and devices")
struct QEMUConfigReaderTests {
  @Test func theAcceptanceCommandLine() throws {
    let c = try QEMUConfigReader.read(arguments: words(
      "qemu-system-x86_64 -object memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=on -machine memory-backend=m0 -device vfio-pci,host=0000:00:03.0"))
    #expect(c.regions == [
      MemoryRegion(
        id: "m0", role: .ram, declaredBy: "-object memory-backend-file,id=m0", size: 64 << 20, backing: .file(path: "/var/tmp/vm.ram"), shared: true)
    ])
    #expect(c.devices == [PassthroughDevice(address: "0000:00:03.0", path: .container, declaredBy: "-device vfio-pci,host=0000:00:03.0")])
    #expect(c.paths == [.container])
    #expect(c.notes.isEmpty)
  }

  /// What libvirt 9 generates for a q35 guest with two NUMA nodes, an NVDIMM, virtio-mem,
  /// virtio-pmem and iommufd passthrough (trimmed to the options that matter, in its order).
  @Test func aLibvirtGeneratedCommandLine() throws {
    let argv = words(
      """
      /usr/bin/qemu-system-x86_64 -name guest=pmem-guest,debug-threads=on -S
      -object {"qom-type":"secret","id":"masterKey0","format":"raw","file":"/var/lib/libvirt/qemu/domain-1-pmem-guest/master-key.aes"}
      -machine pc-q35-8.2,usb=off,vmport=off,dump-guest-core=off,nvdimm=on,memory-backend=pc.ram-unused
      -accel kvm -cpu host,migratable=on -m size=4194304k,slots=16,maxmem=16777216k -overcommit mem-lock=off -smp 4,sockets=4,cores=1,threads=1
      -object {"qom-type":"memory-backend-memfd","id":"ram-node0","share":true,"prealloc":true,"size":2147483648}
      -numa node,nodeid=0,cpus=0-1,memdev=ram-node0
      -object {"qom-type":"memory-backend-memfd","id":"ram-node1","share":false,"prealloc":true,"size":2147483648}
      -numa node,nodeid=1,cpus=2-3,memdev=ram-node1
      -object {"qom-type":"memory-backend-file","id":"memnvdimm0","mem-path":"/dev/dax0.0","share":true,"prealloc":true,"size":1073741824,"align":2097152,"pmem":true}
      -device {"driver":"nvdimm","node":0,"label-size":131072,"memdev":"memnvdimm0","id":"nvdimm0","slot":0}
      -object {"qom-type":"memory-backend-ram","id":"memvirtiomem0","reserve":false,"size":137438953472}
      -device {"driver":"virtio-mem-pci","node":0,"block-size":2097152,"requested-size":1073741824,"memdev":"memvirtiomem0","id":"virtiomem0","bus":"pci.1","addr":"0x0"}
      -object memory-backend-file,id=memvirtiopmem0,mem-path=/mnt/pagecache/pmem.img,share=on,size=512M
      -device virtio-pmem-pci,memdev=memvirtiopmem0,id=virtiopmem0
      -object {"qom-type":"iommufd","id":"iommufd0","fd":"25"}
      -device {"driver":"vfio-pci","host":"0000:3b:00.1","id":"hostdev0","iommufd":"iommufd0","bus":"pci.2","addr":"0x0"}
      -device vfio-pci,host=5e:10.2,id=hostdev1
      -msg timestamp=on
      """.replacingOccurrences(of: "memory-backend=pc.ram-unused", with: "x-unused=1"))
    let c = try QEMUConfigReader.read(arguments: argv)
    #expect(c.name == "pmem-guest")
    #expect(c.regions.map(\.id) == ["ram-node0", "ram-node1", "memnvdimm0", "memvirtiomem0", "memvirtiopmem0"])
    #expect(c.regions.map(\.role) == [.numaNode, .numaNode, .nvdimm, .virtioMem, .virtioPmem])
    let sizes: [UInt64] = [2 << 30, 2 << 30, 1 << 30, 128 << 30, 512 << 20]
    #expect(c.regions.map(\.size) == sizes)
    #expect(c.regions.map(\.backing) == [
      .memfd(hugetlb: false), .memfd(hugetlb: false), .file(path: "/dev/dax0.0"), .anonymous, .file(path: "/mnt/pagecache/pmem.img"),
    ])
    #expect(c.regions.map(\.shared) == [true, false, true, false, true])
    #expect(c.regions.map(\.prealloc) == [true, true, true, false, false])
    #expect(c.regions[2].align == 2 << 20)
    #expect(c.regions[2].pmem)
    #expect(c.regions[2].declaredBy == "-device nvdimm,id=nvdimm0,memdev=memnvdimm0 (-object memory-backend-file,id=memnvdimm0)")
    #expect(c.regions[3].blockSize == 2 << 20)
    #expect(c.regions[0].notes == ["RAM of NUMA node 0"])
    #expect(c.devices == [
      PassthroughDevice(address: "0000:3b:00.1", path: .iommufd, declaredBy: "-device vfio-pci,host=0000:3b:00.1"),
      PassthroughDevice(address: "0000:5e:10.2", path: .container, declaredBy: "-device vfio-pci,host=5e:10.2"),
    ])
    #expect(c.paths == [.container, .iommufd])
    #expect(c.notes == ["-m size=4194304k,slots=16,maxmem=16777216k: 16 slots, up to 12 GiB more can be hotplugged at run time; check judges only what the command line names"])
  }

  @Test func defaultRAMAndLegacyMemPath() throws {
    let plain = try QEMUConfigReader.read(arguments: ["-enable-kvm", "-m", "2048", "-device", "vfio-pci,sysfsdev=/sys/bus/mdev/devices/c2177883-f1bb-47f0-914d-32a22e3a8804"])
    #expect(plain.regions == [MemoryRegion(id: "pc.ram", role: .ram, declaredBy: "-m 2048", size: 2 << 30, backing: .anonymous, shared: false)])
    #expect(plain.devices == [
      PassthroughDevice(
        address: "c2177883-f1bb-47f0-914d-32a22e3a8804", path: .container, mdev: true,
        declaredBy: "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/c2177883-f1bb-47f0-914d-32a22e3a8804")
    ])
    let legacy = try QEMUConfigReader.read(arguments: ["-M", "virt", "-m", "1G", "-mem-path", "/dev/hugepages", "-mem-prealloc"])
    #expect(legacy.regions == [
      MemoryRegion(id: "mach-virt.ram", role: .ram, declaredBy: "-mem-path /dev/hugepages", size: 1 << 30, backing: .file(path: "/dev/hugepages"), shared: false, prealloc: true)
    ])
    let none = try QEMUConfigReader.read(arguments: ["-nographic"])
    #expect(none.regions == [
      MemoryRegion(id: "pc.ram", role: .ram, declaredBy: "QEMU's default RAM", size: 128 << 20, backing: .anonymous, shared: false, notes: ["no -m: QEMU's default of 128 MiB"])
    ])
    #expect(none.devices.isEmpty)
  }

  @Test func backendFlags() throws {
    let c = try QEMUConfigReader.read(arguments: [
      "-object", "memory-backend-file,id=rom,size=2M,mem-path=/var/tmp/fw.img,readonly=on", "-device", "pc-dimm,id=d0,memdev=rom",
      "-object", "memory-backend-memfd,id=h,size=1G,hugetlb=on,hugetlbsize=2M", "-machine", "q35,memory-backend=h",
      "-object", "memory-backend-ram,id=unused,size=1G", "-object", "memory-backend-shm,id=s,size=1G", "-device", "pc-dimm,memdev=s",
    ])
    #expect(c.regions.map(\.id) == ["h", "rom", "s"])
    #expect(c.regions[0].backing == .memfd(hugetlb: true))
    #expect(c.regions[0].shared, "memfd is shared unless share=off")
    #expect(c.regions[1].readOnly)
    #expect(c.regions[1].access == .ro)
    #expect(c.regions[2].backing == .posixSharedMemory)
    #expect(c.notes == ["-object memory-backend-ram,id=unused is not used by -machine, -numa or a memory device: QEMU does not map it for DMA"])
  }

  @Test(arguments: [
    ("-object memory-backend-file,id=m0,mem-path=/var/tmp/vm.ram -machine memory-backend=m0", "-object memory-backend-file,id=m0: size= missing"),
    ("-object memory-backend-file,id=m0,size=1G -machine memory-backend=m0", "-object memory-backend-file,id=m0: mem-path= missing"),
    ("-object memory-backend-ram,size=1G", "-object memory-backend-ram: id= missing"),
    ("-object memory-backend-ram,id=m0,size=1Q", "-object memory-backend-ram,id=m0: size=1Q is not a size"),
    ("-object memory-backend-ram,id=m0,size=0", "-object memory-backend-ram,id=m0: size=0: can't create backend with size 0"),
    ("-object memory-backend-ram,id=m0,size=1G,share=maybe", "-object memory-backend-ram,id=m0: share=maybe is not on or off"),
    ("-object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m0,size=1G", "-object memory-backend-ram,id=m0: id=m0 is already used by -object memory-backend-ram,id=m0"),
    ("-object memory-backend-epc,id=e,size=1G", "-object memory-backend-epc,id=e: daxpin check does not know this memory backend"),
    ("-machine q35,memory-backend=m1", "-machine memory-backend=m1: no -object memory-backend-* with id=m1"),
    ("-m 2G -object memory-backend-ram,id=m0,size=1G -machine memory-backend=m0", "-m 2G: 2 GiB does not match the size of memory backend m0 (1 GiB)"),
    ("-object memory-backend-ram,id=m0,size=1G -machine memory-backend=m0 -device pc-dimm,id=d0,memdev=m0", "-device pc-dimm,id=d0,memdev=m0: memory backend m0 is already used by -machine memory-backend=m0"),
    ("-device nvdimm,id=nv0", "-device nvdimm,id=nv0: memdev= missing"),
    ("-device vfio-pci,id=h0", "-device vfio-pci,id=h0: host= or sysfsdev= missing"),
    ("-device vfio-pci,host=0000:00:03.0,iommufd=fd0", "-device vfio-pci,host=0000:00:03.0: iommufd=fd0: no -object iommufd,id=fd0"),
    ("-m 1X", "-m 1X: size=1X is not a size"),
    ("-object ,id=x", "-object ,id=x: empty option at the start"),
    ("-object memory-backend-ram,id=a,size=1G -numa node,memdev=a -m 2G", "-numa: total memory for NUMA nodes (1 GiB) should equal the RAM size of -m 2G"),
  ])
  func malformedIsOneLineNamingTheOption(_ args: String, _ message: String) {
    #expect(checkProblem { _ = try QEMUConfigReader.read(arguments: words(args)) } == .malformed(message))
  }
}
