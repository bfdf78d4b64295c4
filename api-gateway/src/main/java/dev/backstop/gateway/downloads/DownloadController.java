package dev.backstop.gateway.downloads;

import dev.backstop.gateway.addons.AddonCatalog;
import dev.backstop.gateway.backups.BackupListing;
import dev.backstop.gateway.backups.BackupListing.Row;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.gateway.config.GatewayProperties;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

/**
 * Streams a backup's archive as customers download it: constant memory whatever its size, with its
 * name, length and SHA-256 (RFC 9530 Repr-Digest), and a single byte range so a broken download resumes.
 */
@RestController
public class DownloadController {

  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");
  private static final MediaType GZIP = MediaType.parseMediaType("application/gzip");
  private static final MediaType ZSTD = MediaType.parseMediaType("application/zstd");

  private final AddonCatalog addons;
  private static final String SENDFILE_SUPPORT = "org.apache.tomcat.sendfile.support";
  private static final String SENDFILE_FILENAME = "org.apache.tomcat.sendfile.filename";
  private static final String SENDFILE_START = "org.apache.tomcat.sendfile.start";
  private static final String SENDFILE_END = "org.apache.tomcat.sendfile.end";

  private final BackupListing listing;
  private final ArchiveCipher cipher;
  private final ArchiveStore store;
  private final SignedLinks links;

  private final int responseBuffer;

  public DownloadController(AddonCatalog addons, BackupListing listing, ArchiveStore store, SignedLinks links, ArchiveCipher cipher,
      GatewayProperties properties) {
    this.responseBuffer = Math.toIntExact(properties.getSocketWriteBuffer().toBytes());
    this.cipher = cipher;
    this.addons = addons;
    this.listing = listing;
    this.store = store;
    this.links = links;
  }

  @GetMapping("/v1/apps/{appName}/addons/{addonId}/backups/{backupId}/archive")
  public ResponseEntity<StreamingResponseBody> download(@PathVariable String appName, @PathVariable String addonId,
      @PathVariable String backupId, @RequestHeader(value = HttpHeaders.RANGE, required = false) String range,
      HttpServletRequest request, HttpServletResponse response) throws IOException {
    requireAddon(appName, addonId);
    return stream(row(addonId, backupId), range, request, response);
  }

  /**
   * A link a browser can follow without a token: signed, and valid for minutes only, so that a link
   * shared by mistake soon stops working.
   */
  @PostMapping("/v1/apps/{appName}/addons/{addonId}/backups/{backupId}/links")
  public ResponseEntity<SignedLinks.Link> link(@PathVariable String appName, @PathVariable String addonId,
      @PathVariable String backupId) {
    requireAddon(appName, addonId);
    Row row = row(addonId, backupId);
    requireDone(row);
    return ResponseEntity.status(HttpStatus.CREATED).body(links.sign(appName, addonId, row.id()));
  }

  @GetMapping("/v1/downloads/{link}")
  public ResponseEntity<StreamingResponseBody> follow(@PathVariable String link,
      @RequestHeader(value = HttpHeaders.RANGE, required = false) String range, HttpServletRequest request,
      HttpServletResponse response) throws IOException {
    SignedLinks.Target target = links.verify(link);
    requireAddon(target.app(), target.addonId());
    return stream(row(target.addonId(), target.backupId()), range, request, response);
  }

  private Row row(String addonId, String backupId) {
    return "latest".equals(backupId)
        ? listing.latestDone(addonId).orElseThrow(() -> ApiProblem.notFound("addon " + addonId + " has no successful backup yet"))
        : listing.find(addonId, backupId).orElseThrow(() -> ApiProblem.notFound("no backup " + backupId + " of addon " + addonId));
  }

  private static void requireDone(Row row) {
    if (row.status() != Status.DONE) {
      throw ApiProblem.conflict("backup-not-downloadable", "Backup not downloadable",
          "backup " + row.id() + " is " + row.status().name().toLowerCase() + ": only done backups can be downloaded");
    }
  }

  private ResponseEntity<StreamingResponseBody> stream(Row row, String range, HttpServletRequest request,
      HttpServletResponse response) throws IOException {
    requireDone(row);
    boolean encrypted = ArchiveCipher.isEncrypted(row.archiveKey());
    long size;
    try {
      // an encrypted archive is served as the plaintext it holds, whose size the listing knows
      long stored = store.size(row.archiveKey());
      size = encrypted ? row.size() : stored;
    } catch (ArchiveStore.NoSuchArchiveException e) {
      throw ApiProblem.notFound("the archive of backup " + row.id() + " is no longer stored");
    }
    long start = 0;
    long end = size - 1;
    HttpStatus status = HttpStatus.OK;
    if (range != null) {
      Matcher m = RANGE.matcher(range.trim());
      if (!m.matches() || Long.parseLong(m.group(1)) >= size) {
        throw ApiProblem.rangeNotSatisfiable("range '" + range + "' does not fit an archive of " + size + " bytes; use bytes=START- ");
      }
      start = Long.parseLong(m.group(1));
      end = m.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(m.group(2)));
      status = HttpStatus.PARTIAL_CONTENT;
    }
    long length = end - start + 1;
    long offset = start;
    // the response's own buffer the size of the socket's: Tomcat hands large writes on in pieces of it
    response.setBufferSize(responseBuffer);
    StreamingResponseBody body = encrypted ? decrypt(row, offset, length)
        : sendfile(row, start, end, request) ? null : copy(() -> store.open(row.archiveKey(), offset), length);
    var entity = ResponseEntity.status(status)
        .contentType(row.archiveName().endsWith(".zst") ? ZSTD : GZIP)
        .contentLength(length)
        .header(HttpHeaders.ACCEPT_RANGES, "bytes")
        .header(HttpHeaders.CONTENT_DISPOSITION, ContentDisposition.attachment().filename(row.archiveName()).build().toString())
        .header("Repr-Digest", "sha-256=:" + Base64.getEncoder().encodeToString(HexFormat.of().parseHex(row.sha256())) + ":")
        .header("X-Backstop-Backup-Id", row.id())
        .eTag("\"" + row.sha256() + "\"");
    if (status == HttpStatus.PARTIAL_CONTENT) {
      entity.header(HttpHeaders.CONTENT_RANGE, "bytes " + start + "-" + end + "/" + size);
    }
    return entity.body(body);
  }

  /**
   * Hands a plain archive file to the servlet container to send with zero copy (Tomcat's
   * {@code sendfile}, what its own static file serving uses), when both the store and the container
   * can; the bytes then never pass through the JVM's heap.
   */
  private boolean sendfile(Row row, long start, long end, HttpServletRequest request) throws IOException {
    if (!Boolean.TRUE.equals(request.getAttribute(SENDFILE_SUPPORT))) {
      return false;
    }
    var file = store.localFile(row.archiveKey());
    if (file.isEmpty()) {
      return false;
    }
    request.setAttribute(SENDFILE_FILENAME, file.get().toAbsolutePath().toString());
    request.setAttribute(SENDFILE_START, start);
    request.setAttribute(SENDFILE_END, end + 1);
    return true;
  }

  /** Opens the bytes to send. */
  private interface Source {
    InputStream open() throws IOException;
  }

  /** The plaintext, decrypted a segment at a time and handed to the response whole (no copy in between). */
  private StreamingResponseBody decrypt(Row row, long offset, long length) {
    return out -> {
      try (InputStream in = cipher.open(row.addonId(), row.archiveKey(), offset, length)) {
        in.transferTo(out);
      }
    };
  }

  private static StreamingResponseBody copy(Source source, long length) {
    return out -> {
      try (InputStream in = source.open()) {
        byte[] buffer = new byte[1 << 20];
        long left = length;
        while (left > 0) {
          int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
          if (n < 0) {
            break;
          }
          out.write(buffer, 0, n);
          left -= n;
        }
      }
    };
  }

  private void requireAddon(String appName, String addonId) {
    if (addons.findForApp(appName, addonId).isEmpty()) {
      throw ApiProblem.notFound("no addon " + addonId + " in app " + appName);
    }
  }
}
