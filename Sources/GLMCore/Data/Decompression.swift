#if canImport(Glibc)
import Glibc
#endif
import CBzip2
import CLzma
import CZlib
import CZstd

/// The compressed formats glmfit reads, recognised by their first bytes.
enum CompressionFormat: String, CaseIterable {
    case gzip, xz, zstd, bzip2

    /// The most bytes `detect` looks at.
    static let magicLength = 10

    /// The format whose magic number `prefix` starts with, if any. bzip2's "BZh" could
    /// start a header line, so its block size digit and the first block's (or the end's)
    /// own magic number are required too.
    static func detect(_ prefix: [UInt8]) -> CompressionFormat? {
        func starts(_ magic: [UInt8]) -> Bool { prefix.count >= magic.count && Array(prefix[..<magic.count]) == magic }
        if starts([0x1F, 0x8B]) { return .gzip }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .xz }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        if starts(Array("BZh".utf8)), prefix.count >= 10, (0x31...0x39).contains(prefix[3]) {
            let block = Array(prefix[4..<10])
            if block == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] || block == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90] {
                return .bzip2
            }
        }
        return nil
    }
}

/// Streams compressed bytes through zlib, liblzma, libzstd or libbz2 (Debian's libraries),
/// a megabyte at a time, handing each decompressed block to a sink: memory stays bounded
/// whatever the input's size. Concatenated streams (`cat a.gz b.gz`) are read as one, as
/// `zcat` reads them.
///
/// Corrupt or truncated data is `GLMError.notText` (status 65), naming the format.
struct Decompressor {
    let format: CompressionFormat
    let source: String
    /// Gives the next compressed bytes into the buffer, returning how many (0 at the end).
    let read: (UnsafeMutableRawBufferPointer) throws -> Int
    let sink: (UnsafeRawBufferPointer) throws -> Void

    private static let blockSize = 1 << 20

    func run() throws {
        let inBase = UnsafeMutablePointer<UInt8>.allocate(capacity: Decompressor.blockSize)
        let outBase = UnsafeMutablePointer<UInt8>.allocate(capacity: Decompressor.blockSize)
        defer {
            inBase.deallocate()
            outBase.deallocate()
        }
        let input = UnsafeMutableRawBufferPointer(start: inBase, count: Decompressor.blockSize)
        let output = UnsafeMutableRawBufferPointer(start: outBase, count: Decompressor.blockSize)
        switch format {
        case .gzip: try gunzip(input, output, inBase, outBase)
        case .xz: try unxz(input, output, inBase, outBase)
        case .zstd: try unzstd(input, output, inBase, outBase)
        case .bzip2: try bunzip2(input, output, inBase, outBase)
        }
    }

    private func corrupt(_ detail: String) -> GLMError {
        let name = source == "<stdin>" ? "the data" : "'\(source)'"
        return .notText(source: source, reason: "\(name) is \(format.rawValue)-compressed and \(detail)")
    }

    private var truncated: GLMError { corrupt("ends before its compressed stream does (truncated?)") }

    private func gunzip(
        _ input: UnsafeMutableRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
        _ inBase: UnsafeMutablePointer<UInt8>, _ outBase: UnsafeMutablePointer<UInt8>
    ) throws {
        var stream = z_stream()
        guard glm_inflate_init_gzip(&stream) == Z_OK else { throw corrupt("zlib could not start") }
        defer { inflateEnd(&stream) }
        var atStreamEnd = false
        var sawData = false
        while true {
            if stream.avail_in == 0 {
                let got = try read(input)
                if got == 0 { break }
                stream.next_in = inBase
                stream.avail_in = UInt32(got)
                sawData = true
            }
            if atStreamEnd {
                // Another gzip member follows.
                guard inflateReset(&stream) == Z_OK else { throw corrupt("zlib could not go on") }
                atStreamEnd = false
            }
            repeat {
                stream.next_out = outBase
                stream.avail_out = UInt32(output.count)
                let status = inflate(&stream, Z_NO_FLUSH)
                let produced = output.count - Int(stream.avail_out)
                if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[..<produced])) }
                if status == Z_STREAM_END {
                    atStreamEnd = true
                    break
                }
                if status == Z_BUF_ERROR { break }
                guard status == Z_OK else {
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw corrupt("is corrupt (\(message))")
                }
            } while stream.avail_out == 0 || stream.avail_in > 0
        }
        guard sawData, atStreamEnd else { throw truncated }
    }

    private func unxz(
        _ input: UnsafeMutableRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
        _ inBase: UnsafeMutablePointer<UInt8>, _ outBase: UnsafeMutablePointer<UInt8>
    ) throws {
        var stream = glm_lzma_stream_init()
        guard lzma_stream_decoder(&stream, UInt64.max, glm_lzma_concatenated) == LZMA_OK else {
            throw corrupt("liblzma could not start")
        }
        defer { lzma_end(&stream) }
        var action = LZMA_RUN
        while true {
            if stream.avail_in == 0, action == LZMA_RUN {
                let got = try read(input)
                if got == 0 {
                    action = LZMA_FINISH
                } else {
                    stream.next_in = UnsafePointer(inBase)
                    stream.avail_in = got
                }
            }
            stream.next_out = outBase
            stream.avail_out = output.count
            let status = lzma_code(&stream, action)
            let produced = output.count - stream.avail_out
            if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[..<produced])) }
            if status == LZMA_STREAM_END { return }
            if status == LZMA_BUF_ERROR, action == LZMA_FINISH { throw truncated }
            guard status == LZMA_OK else {
                if status == LZMA_DATA_ERROR || status == LZMA_FORMAT_ERROR { throw corrupt("is corrupt") }
                throw corrupt("could not be decompressed (liblzma error \(status.rawValue))")
            }
        }
    }

    private func unzstd(
        _ input: UnsafeMutableRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
        _ inBase: UnsafeMutablePointer<UInt8>, _ outBase: UnsafeMutablePointer<UInt8>
    ) throws {
        guard let context = ZSTD_createDCtx() else { throw corrupt("libzstd could not start") }
        defer { ZSTD_freeDCtx(context) }
        // 0 once a frame is complete, which is where the input may end.
        var remaining = 0
        while true {
            let got = try read(input)
            if got == 0 { break }
            var inBuffer = ZSTD_inBuffer(src: inBase, size: got, pos: 0)
            while inBuffer.pos < inBuffer.size {
                var outBuffer = ZSTD_outBuffer(dst: outBase, size: output.count, pos: 0)
                let status = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                if ZSTD_isError(status) != 0 {
                    throw corrupt("is corrupt (\(String(cString: ZSTD_getErrorName(status))))")
                }
                if outBuffer.pos > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[..<outBuffer.pos])) }
                remaining = status
            }
            // Output left inside the decoder once the input block is used up.
            while remaining != 0 {
                var empty = ZSTD_inBuffer(src: inBase, size: 0, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: outBase, size: output.count, pos: 0)
                let status = ZSTD_decompressStream(context, &outBuffer, &empty)
                if ZSTD_isError(status) != 0 {
                    throw corrupt("is corrupt (\(String(cString: ZSTD_getErrorName(status))))")
                }
                remaining = status
                if outBuffer.pos == 0 { break }
                try sink(UnsafeRawBufferPointer(rebasing: output[..<outBuffer.pos]))
            }
        }
        guard remaining == 0 else { throw truncated }
    }

    private func bunzip2(
        _ input: UnsafeMutableRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
        _ inBase: UnsafeMutablePointer<UInt8>, _ outBase: UnsafeMutablePointer<UInt8>
    ) throws {
        var stream = bz_stream()
        guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else { throw corrupt("libbz2 could not start") }
        defer { BZ2_bzDecompressEnd(&stream) }
        var atStreamEnd = false
        while true {
            if stream.avail_in == 0 {
                let got = try read(input)
                if got == 0 { break }
                stream.next_in = UnsafeMutableRawPointer(inBase).assumingMemoryBound(to: CChar.self)
                stream.avail_in = UInt32(got)
            }
            if atStreamEnd {
                // Another bzip2 stream follows (pbzip2 writes several).
                BZ2_bzDecompressEnd(&stream)
                let pending = (stream.next_in, stream.avail_in)
                stream = bz_stream()
                guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else { throw corrupt("libbz2 could not go on") }
                (stream.next_in, stream.avail_in) = pending
                atStreamEnd = false
            }
            repeat {
                stream.next_out = UnsafeMutableRawPointer(outBase).assumingMemoryBound(to: CChar.self)
                stream.avail_out = UInt32(output.count)
                let status = BZ2_bzDecompress(&stream)
                let produced = output.count - Int(stream.avail_out)
                if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[..<produced])) }
                if status == BZ_STREAM_END {
                    atStreamEnd = true
                    break
                }
                guard status == BZ_OK else { throw corrupt("is corrupt (libbz2 error \(status))") }
            } while stream.avail_out == 0 || stream.avail_in > 0
        }
        guard atStreamEnd else { throw truncated }
    }
}

/// Input that the CSV reader cannot read as it is: compressed, or in a dialect other than
/// commas and decimal points. It is decompressed and converted as it streams into an unlinked
/// temporary file (`SpoolWriter`, within its bounds), which the readers then map or read in
/// chunks like any file, so memory stays bounded by the readers' own needs.
enum InputConversion {
    /// Reads up to `CompressionFormat.magicLength` bytes from the start of `fd`.
    static func readPrefix(_ fd: Int32, source: String) throws(GLMError) -> [UInt8] {
        var prefix = [UInt8](repeating: 0, count: CompressionFormat.magicLength)
        var count = 0
        while count < prefix.count {
            let got = prefix.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress.map { $0 + count }, $0.count - count) }
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                let code = errno
                if code == EISDIR { throw .unreadableInput(source: source, reason: "it is a directory, not a file") }
                throw .unreadableInput(source: source, reason: String(cString: strerror(code)))
            }
            count += got
        }
        return Array(prefix[..<count])
    }

    /// Whether input starting with `prefix` must go through `spool`.
    static func isNeeded(prefix: [UInt8], dialect: CSVDialect) -> Bool {
        !dialect.isStandard || CompressionFormat.detect(prefix) != nil
    }

    /// Writes the input (`prefix`, then the rest of `fd`) decompressed and as standard CSV to
    /// an unlinked temporary file, and returns its descriptor (the caller closes it).
    static func spool(fd: Int32, prefix: [UInt8], source: String, dialect: CSVDialect) throws -> Int32 {
        let directory = TemporaryFile.directory
        let file = TemporaryFile.unlinkedDescriptor(prefix: "glmfit-input")
        guard file >= 0 else {
            throw GLMError.unreadableInput(
                source: source, reason: "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        do {
            let writer = SpoolWriter(file: file, directory: directory, limit: InputSpool.limit(), purpose: .convertedInput(source: source))
            let transcoder = dialect.isStandard ? nil : DialectTranscoder(dialect: dialect, sink: writer.append)
            let text: (UnsafeRawBufferPointer) throws -> Void = { bytes in
                if let transcoder { try transcoder.feed(bytes) } else { try writer.append(bytes) }
            }
            var pending = prefix[...]
            let read: (UnsafeMutableRawBufferPointer) throws -> Int = { buffer in
                if !pending.isEmpty {
                    let count = min(buffer.count, pending.count)
                    buffer.copyBytes(from: pending.prefix(count))
                    pending = pending.dropFirst(count)
                    return count
                }
                while true {
                    let got = Glibc.read(fd, buffer.baseAddress, buffer.count)
                    if got >= 0 { return got }
                    if errno != EINTR {
                        throw GLMError.unreadableInput(source: source, reason: String(cString: strerror(errno)))
                    }
                }
            }
            if let format = CompressionFormat.detect(prefix) {
                try Decompressor(format: format, source: source, read: read, sink: text).run()
            } else {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    let got = try read(buffer)
                    if got == 0 { break }
                    try text(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
                }
            }
            try transcoder?.finish()
            guard lseek(file, 0, SEEK_SET) == 0 else {
                throw GLMError.unreadableInput(source: source, reason: String(cString: strerror(errno)))
            }
            return file
        } catch {
            close(file)
            throw error
        }
    }
}
