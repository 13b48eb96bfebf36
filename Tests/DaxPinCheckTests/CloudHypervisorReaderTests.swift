import Testing

@testable import DaxPinCore

@Suite("cloud-hypervisor command lines into regions and devices")
struct CloudHypervisorReaderTests {
  @Test func zonesPmemAndDevices() throws {
    let c = try CloudHypervisorConfigReader.read(arguments: [
      "cloud-hypervisor", "--api-socket", "path=/run/ch.sock", "--cpus", "boot=4", "--memory", "size=0",
      "--memory-zone", "id=mem0,size=2G,file=/dev/dax0.0,shared=on", "id=mem1,size=1G,hugepages=on,hugepage_size=2M,prefault=on",
      "--kernel", "/boot/vmlinux", "--cmdline", "console=hvc0 root=/dev/vda1",
      "--pmem", "file=/var/tmp/pmem.img,size=1G,discard_writes=on",
      "--device", "path=/sys/bus/pci/devices/0000:01:00.0/,iommu=on", "path=/sys/bus/pci/devices/0000:02:00.0",
      "-v",
    ])
    #expect(c.regions == [
      MemoryRegion(id: "mem0", role: .ram, declaredBy: "--memory-zone id=mem0", size: 2 << 30, backing: .file(path: "/dev/dax0.0"), shared: true),
      MemoryRegion(id: "mem1", role: .ram, declaredBy: "--memory-zone id=mem1", size: 1 << 30, backing: .memfd(hugetlb: true), shared: false, prealloc: true),
      MemoryRegion(
        id: "pmem0", role: .virtioPmem, declaredBy: "--pmem file=/var/tmp/pmem.img", size: 1 << 30, backing: .file(path: "/var/tmp/pmem.img"),
        shared: false, dmaMapped: false,
        notes: ["cloud-hypervisor maps only its memory zones into the IOMMU for VFIO devices: this region is not long-term pinned"]),
    ])
    #expect(c.devices == [
      PassthroughDevice(address: "0000:01:00.0", path: .container, declaredBy: "--device path=/sys/bus/pci/devices/0000:01:00.0/"),
      PassthroughDevice(address: "0000:02:00.0", path: .container, declaredBy: "--device path=/sys/bus/pci/devices/0000:02:00.0"),
    ])
  }

  @Test func memoryDefaultsAndSharedIsMemfd() throws {
    let plain = try CloudHypervisorConfigReader.read(arguments: ["--kernel", "/boot/vmlinux"])
    #expect(plain.regions == [
      MemoryRegion(id: "mem", role: .ram, declaredBy: "--memory size=512M", size: 512 << 20, backing: .anonymous, shared: false, notes: ["no size=: cloud-hypervisor's default of 512 MiB"])
    ])
    let shared = try CloudHypervisorConfigReader.read(arguments: ["--memory", "size=1G,shared=on"])
    #expect(shared.regions.map(\.backing) == [.memfd(hugetlb: false)])
    let file = try CloudHypervisorConfigReader.read(arguments: ["--memory=size=1G,file=/var/tmp,shared=on"])
    #expect(file.regions.map(\.backing) == [.file(path: "/var/tmp")])
    #expect(file.regions.map(\.shared) == [true])
  }

  @Test func quotesAndBracketsHoldCommas() throws {
    #expect(try CloudHypervisorConfigReader.list([#"id=a,size=1G,host_numa_node=0,file="/srv/a,b""#], option: "--memory-zone") == [
      ["id": "a", "size": "1G", "host_numa_node": "0", "file": "/srv/a,b"]
    ])
    #expect(try CloudHypervisorConfigReader.list(["path=/x,pci_segment=0,affinity=[0,1]"], option: "--device") == [["path": "/x", "pci_segment": "0", "affinity": "[0,1]"]])
  }

  @Test(arguments: [
    (["--memory", "size=1G", "--memory-zone", "id=z,size=1G"], "--memory size=1G: size must be 0 when --memory-zone is given"),
    (["--memory", "size=0"], "--memory size=0: size=0 and no --memory-zone: the guest has no RAM"),
    (["--memory", "size=1Q"], "--memory size=1Q: size=1Q is not a size"),
    (["--memory", "size=0", "--memory-zone", "size=1G"], "--memory-zone size=1G: id= missing"),
    (["--memory", "size=0", "--memory-zone", "id=z"], "--memory-zone id=z: size= missing"),
    (["--memory", "size=0", "--memory-zone", "id=z,size=1G", "id=z,size=1G"], "--memory-zone id=z: id=z given twice"),
    (["--memory", "size=1G,shared=yes"], "--memory size=1G,shared=yes: shared=yes is not on or off"),
    (["--device", "iommu=on"], "--device iommu=on: path= missing"),
    (["--pmem", "size=1G"], "--pmem size=1G: file= missing"),
    (["--memory"], "--memory: requires a value"),
    (["--memory", #"size=1G,file="/x"#], #"--memory size=1G,file="/x: unbalanced quotes or brackets"#),
  ])
  func malformedIsOneLineNamingTheOption(_ args: [String], _ message: String) {
    #expect(checkProblem { _ = try CloudHypervisorConfigReader.read(arguments: args) } == .malformed(message))
  }
}
