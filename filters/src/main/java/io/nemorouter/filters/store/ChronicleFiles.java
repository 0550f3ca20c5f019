package io.nemorouter.filters.store;

import net.openhft.chronicle.map.ChronicleMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Opening Chronicle Map files so a killed process cannot wedge the next one: an exclusive lock file
 * per directory (recovery needs the files to itself), {@code createPersistedTo} on a clean start and
 * {@code recoverPersistedTo} only after an unclean one or a failed open (OpenHFT/Chronicle-Map#515),
 * a read through every segment at open (a lock left held shows at start, not on a request), and a
 * header check that refuses a file that is not a map. Shared by the key store and the response cache.
 */
public final class ChronicleFiles {
    private static final Logger LOG = LoggerFactory.getLogger(ChronicleFiles.class);

    private ChronicleFiles() {
    }

    /**
     * One store's hold on its files in a data directory: an exclusive lock ({@code <name>.lock}: one
     * gateway per directory, and recovery needs the files to itself) and a marker ({@code <name>.open})
     * present while the files are open, so that the next start knows whether the last process closed
     * them ({@link #unclean()}: then they are recovered).
     */
    public static final class Claim implements AutoCloseable {
        private final FileChannel lock;
        private final Path marker;
        private final boolean unclean;

        private Claim(FileChannel lock, Path marker, boolean unclean) {
            this.lock = lock;
            this.marker = marker;
            this.unclean = unclean;
        }

        /** Creates {@code dir} if need be and takes the lock. @throws StoreException when another gateway holds it */
        public static Claim take(Path dir, String name) {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new StoreException(dir + ": cannot create the data directory: " + e.getMessage(), e);
            }
            FileChannel lock = exclusive(dir.resolve(name + ".lock"));
            Path marker = dir.resolve(name + ".open");
            return new Claim(lock, marker, Files.exists(marker));
        }

        /** Whether the last process died with the files open. */
        public boolean unclean() {
            return unclean;
        }

        /** The files are open: a process killed from now on leaves the marker behind. */
        public void opened() throws IOException {
            Files.writeString(marker, Long.toString(ProcessHandle.current().pid()));
        }

        /** The files were closed cleanly: the marker goes (the next start need not recover), then the lock. */
        @Override
        public void close() {
            try {
                Files.deleteIfExists(marker);
            } catch (IOException e) {
                LOG.warn("cannot delete {}: the next start will recover the store", marker);
            }
            closeQuietly(lock);
        }

        /** The open failed: the lock is released, the marker left as it was. */
        public void abandon() {
            closeQuietly(lock);
        }
    }

    /** An exclusive lock on {@code file}, held while the store is open: one gateway per data directory. */
    public static FileChannel exclusive(Path file) {
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                if (ch.tryLock() != null) {
                    return ch;
                }
            } catch (OverlappingFileLockException held) {
                // this JVM holds it already
            }
            ch.close();
            throw new StoreException(file.getParent() + " is in use by another gateway (" + file.getFileName()
                    + " is locked): give each gateway a data directory of its own (nemo.data_dir)", null);
        } catch (IOException e) {
            throw new StoreException(file + ": cannot lock: " + e.getMessage(), e);
        }
    }

    public static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException | RuntimeException ignored) {
            // closing what failed to open
        }
    }

    /** Makes the map's builder (once for the open, again for a recovery). */
    public interface Builder<K, V> {
        net.openhft.chronicle.map.ChronicleMapBuilder<K, V> get();
    }

    /**
     * Opens a map file: recovered when the last process died with it open ({@code unclean}) or when a
     * plain open (and a read of every entry) fails.
     */
    public static <K, V> ChronicleMap<K, V> openMap(Path file, boolean unclean, Builder<K, V> builder) {
        boolean existed = Files.exists(file);
        if (existed) {
            checkHeader(file);
        }
        boolean recovering = unclean && existed;
        try {
            return opened(builder, file, recovering);
        } catch (LinkageError e) {
            throw new StoreException("Chronicle Map cannot run in this JVM (" + e + "); on Java 17 it needs the "
                    + "--add-exports/--add-opens flags that scripts/nemo-router passes", e);
        } catch (IOException | RuntimeException | Error first) {
            if (!existed) {
                throw new StoreException(file + ": cannot create the store: " + first.getMessage(), first);
            }
            if (recovering) { // recovery was the first try: a second would fail alike
                throw unreadable(file, first.getMessage(), first);
            }
            LOG.warn("{} did not open cleanly ({}); recovering it", file, first.toString());
            try {
                ChronicleMap<K, V> map = opened(builder, file, true);
                LOG.warn("{} recovered: {} entries", file, map.size());
                return map;
            } catch (IOException | RuntimeException | Error second) {
                throw unreadable(file, first.getMessage() + "; recovery failed too: " + second.getMessage(), second);
            }
        }
    }

    /**
     * The map in {@code file}, created or opened, or recovered, and read through once: every
     * segment's lock is taken, so one left held by a killed process shows here, not on a request.
     */
    private static <K, V> ChronicleMap<K, V> opened(Builder<K, V> builder, Path file, boolean recover) throws IOException {
        ChronicleMap<K, V> map = recover ? builder.get().recoverPersistedTo(file.toFile(), true)
                : builder.get().createPersistedTo(file.toFile());
        try {
            map.forEach((k, v) -> { });
            return map;
        } catch (RuntimeException | Error e) {
            closeQuietly(map);
            throw e;
        }
    }

    private static StoreException unreadable(Path file, String why, Throwable cause) {
        return new StoreException(file + ": the store file is unreadable (" + why + "). Restore it from a backup or move it "
                + "away to start with an empty store.", cause);
    }

    /** What a Chronicle Map file says after its 12-byte preamble (checksum and header length). */
    private static final byte[] HEADER = "!net.openhft.chronicle.map.VanillaChronicleMap".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /**
     * Refuses a file that is not a Chronicle Map (zeroed, truncated, something else): Chronicle would
     * wait a minute for a writer to finish it and then, recovering, start it empty.
     */
    private static void checkHeader(Path file) {
        byte[] head = new byte[12 + HEADER.length];
        try (var in = Files.newInputStream(file)) {
            int n = in.readNBytes(head, 0, head.length);
            if (n == head.length && java.util.Arrays.equals(head, 12, head.length, HEADER, 0, HEADER.length)) {
                return;
            }
        } catch (IOException e) {
            throw new StoreException(file + ": cannot read the store file: " + e.getMessage(), e);
        }
        throw new StoreException(file + ": not a key store file (no Chronicle Map header). Restore it from a backup, "
                + "or move it away to start with an empty store.", null);
    }
}
