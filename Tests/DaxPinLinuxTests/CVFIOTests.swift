import CVFIO
import Glibc
import Testing

@Suite("CVFIO request numbers and wrappers")
struct CVFIOTests {
  // The ABI values: _IO(';', 100 + n) = 0x3b00 | (100 + n); iommufd commands are _IO(';', 0x80 + n).
  static let requests: [(UInt, UInt)] = [
    (CVFIO_REQ_GET_API_VERSION, 0x3b64), (CVFIO_REQ_CHECK_EXTENSION, 0x3b65), (CVFIO_REQ_SET_IOMMU, 0x3b66),
    (CVFIO_REQ_GROUP_GET_STATUS, 0x3b67), (CVFIO_REQ_GROUP_SET_CONTAINER, 0x3b68),
    (CVFIO_REQ_GROUP_UNSET_CONTAINER, 0x3b69), (CVFIO_REQ_GROUP_GET_DEVICE_FD, 0x3b6a),
    (CVFIO_REQ_IOMMU_GET_INFO, 0x3b70), (CVFIO_REQ_IOMMU_MAP_DMA, 0x3b71), (CVFIO_REQ_IOMMU_UNMAP_DMA, 0x3b72),
    (CVFIO_REQ_DEVICE_BIND_IOMMUFD, 0x3b76), (CVFIO_REQ_DEVICE_ATTACH_IOMMUFD_PT, 0x3b77),
    (CVFIO_REQ_DEVICE_DETACH_IOMMUFD_PT, 0x3b78), (CVFIO_REQ_IOMMU_DESTROY, 0x3b80),
    (CVFIO_REQ_IOMMU_IOAS_ALLOC, 0x3b81), (CVFIO_REQ_IOMMU_IOAS_IOVA_RANGES, 0x3b84),
    (CVFIO_REQ_IOMMU_IOAS_MAP, 0x3b85), (CVFIO_REQ_IOMMU_IOAS_UNMAP, 0x3b86), (CVFIO_REQ_IOMMU_IOAS_MAP_FILE, 0x3b8f),
  
  ]

  @Test(arguments: requests)
  func requestNumbers(_ actual: UInt, _ expected: UInt) {
    #expect(actual == expected)
  }

  @Test func structLayouts() {
    #expect(MemoryLayout<vfio_iommu_type1_dma_map>.size == 32)
    #expect(MemoryLayout<vfio_iommu_type1_dma_unmap>.size == 24)
    #expect(MemoryLayout<iommu_ioas_map>.size == 40)
    #expect(MemoryLayout<iommu_ioas_map_file>.size == 40)
    #expect(MemoryLayout<iommu_ioas_unmap>.size == 24)
    #expect(MemoryLayout<vfio_device_bind_iommufd>.size == 16)
  }

  @Test func badDescriptorIsEBADF() {
    errno = 0
    #expect(cvfio_get_api_version(-1) == -1)
    #expect(errno == EBADF)
  }

  @Test func wrongDeviceIsENOTTY() throws {
    let fd = open("/dev/null", O_RDWR)
    try #require(fd >= 0)
    defer { close(fd) }
    var map = vfio_iommu_type1_dma_map()
    #expect(cvfio_iommu_map_dma(fd, &map) == -1)
    #expect(errno == ENOTTY)
    var ioas: UInt32 = 0
    #expect(cvfio_iommufd_ioas_alloc(fd, &ioas) == -1)
    #expect(errno == ENOTTY)
  }
}
