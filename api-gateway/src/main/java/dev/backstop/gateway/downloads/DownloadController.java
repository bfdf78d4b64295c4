package dev.backstop.gateway.downloads;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.gateway.auth.AppTokens;
import dev.backstop.gateway.auth.OperatorAuthInterceptor;
import dev.backstop.gateway.backups.BackupListing;
import dev.backstop.gateway.backups.BackupListing.Row;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.archive.ArchiveFormat;
import dev.backstop.kit.archive.ArchiveReader;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.gateway.config.GatewayProperties;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Base64;
import java.util.HexFormat;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
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
 * Archives and links are answered with {@code Cache-Control: no-store}: a customer's data must not stay
 * in a browser's or a proxy's cache. A signed link works only while the token it was asked for with is
 * live and its addon is not removed.
 */
@RestController
public class DownloadController {

  private static final String NO_STORE = "no-store";

  private final KnownAddons addons;
  private static final String SENDFILE_SUPPORT = "org.apache.tomcat.sendfile.support";
  private static final String SENDFILE_FILENAME = "org.apache.tomcat.sendfile.filename";
  private static final String SENDFILE_START = "org.apache.tomcat.sendfile.start";
  private static final String SENDFILE_END = "org.apache.tomcat.sendfile.end";

  private final BackupListing listing;
  private final ArchiveReader archives;
  private final ArchiveStore store;
  private final SignedLinks links;
  private final AppTokens tokens;
  private final OperatorAuthInterceptor auth;

  private final int responseBuffer;

  public DownloadController(KnownAddons addons, BackupListing listing, ArchiveStore store, SignedLinks links, ArchiveReader archives,
      GatewayProperties properties, AppTokens tokens, OperatorAuthInterceptor auth) {
    this.tokens = tokens;
    this.auth = auth;
    this.responseBuffer = Math.toIntExact(properties.socketWriteBuffer().toBytes());
    this.archives = archives;
    this.addons = addons;
    this.listing = listing;
    this.store = store;
    this.links = links;
  }

  @GetMapping("/v1/apps/{appName}/addons/{addonId}/backups/{backupId}/archive")
  public ResponseEntity<StreamingResponseBody> download(@PathVariable String appName, @PathVariable String addonId,
      @PathVariable String backupId, @RequestHeader(value = HttpHeaders.RANGE, required = false) String range,
      HttpServletRequest request, HttpServletResponse response) throws IOException {
    response.setHeader(HttpHeaders.CACHE_CONTROL, NO_STORE);
    requireAddon(appName, addonId);
    return stream(row(addonId, backupId), range, request, response);
  }

  /**
   * A link a browser can follow without a token: signed, and valid for minutes only, so that a link
   * shared by mistake soon stops working.
   */
  @PostMapping("/v1/apps/{appName}/addons/{addonId}/backups/{backupId}/links")
  public ResponseEntity<SignedLinks.Link> link(@PathVariable String appName, @PathVariable String addonId,
      @PathVariable String backupId, HttpServletRequest request, HttpServletResponse response) {
    response.setHeader(HttpHeaders.CACHE_CONTROL, NO_STORE);
    var addon = requireAddon(appName, addonId);
    if (addon.removed()) {
      throw ApiProblem.conflict("addon-removed", "Addon removed", "addon " + addonId + " was removed: no new download links");
    }
    Row row = row(addonId, backupId);
    requireDone(row);
    String tokenId = (String) request.getAttribute(OperatorAuthInterceptor.CALLER_TOKEN);
    if (tokenId == null) {
      throw new IllegalStateException("a link was asked for without an authenticated token");
    }
    return ResponseEntity.status(HttpStatus.CREATED).body(links.sign(appName, addonId, row.id(), tokenId));
  }

  @GetMapping("/v1/downloads/{link}")
  public ResponseEntity<StreamingResponseBody> follow(@PathVariable String link,
      @RequestHeader(value = HttpHeaders.RANGE, required = false) String range, HttpServletRequest request,
      HttpServletResponse response) throws IOException {
    response.setHeader(HttpHeaders.CACHE_CONTROL, NO_STORE);
    SignedLinks.Target target = links.verify(link);
    var addon = requireAddon(target.app(), target.addonId());
    if (addon.removed()) {
      throw ApiProblem.gone("the addon of this download link was removed: the link no longer works");
    }
    boolean live = target.tokenId().equals(auth.operatorTokenId()) || tokens.isLive(target.app(), target.tokenId());
    if (!live) {
      throw ApiProblem.gone("the token this download link was made with was revoked: the link no longer works");
    }
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
    boolean encrypted = ArchiveReader.isEncrypted(row.archiveKey());
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
    switch (ByteRange.of(range, size)) {
      case ByteRange.Unsatisfiable u -> throw ApiProblem.rangeNotSatisfiable(
          "the range starts at or beyond the end of the archive, which has " + size + " bytes", size);
      case ByteRange.Part part -> {
        start = part.start();
        end = part.end();
        status = HttpStatus.PARTIAL_CONTENT;
      }
      case ByteRange.Whole w -> { }
    }
    long length = end - start + 1;
    long offset = start;
    // the response's own buffer the size of the socket's: Tomcat hands large writes on in pieces of it
    response.setBufferSize(responseBuffer);
    // HEAD opens nothing: Tomcat drops a body written to a HEAD response, but sends a sendfile's whole
    StreamingResponseBody body = HttpMethod.HEAD.matches(request.getMethod()) ? null
        : encrypted ? decrypt(row, offset, length)
        : sendfile(row, start, end, request) ? null : copy(() -> store.open(row.archiveKey(), offset), length);
    var entity = ResponseEntity.status(status)
        .contentType(MediaType.parseMediaType(ArchiveFormat.byName(row.archiveName()).map(ArchiveFormat::mediaType)
            .orElse(MediaType.APPLICATION_OCTET_STREAM_VALUE)))
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
      try (InputStream in = archives.plaintext(row.addonId(), row.archiveKey(), offset, length)) {
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

  private Addon requireAddon(String appName, String addonId) {
    return addons.findForApp(appName, addonId)
        .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId + " in app " + appName));
  }
}
