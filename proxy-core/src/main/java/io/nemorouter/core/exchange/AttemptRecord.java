package io.nemorouter.core.exchange;

import io.nemorouter.core.config.Deployment;

/** One try of a request on one deployment, as the {@link Completion} records it. */
public interface AttemptRecord {
    /** How an attempt ended. */
    enum Outcome {
        /** Still under way (seen only while the exchange runs). */
        PENDING,
        /** The upstream's answer went to the client (whatever its status). */
        ANSWERED,
        /** Failed before any byte of an answer reached the client: the dispatcher may try another deployment. */
        FAILED_BEFORE_HEAD,
        /** Failed after the head had gone to the client: the answer was cut short. */
        FAILED_AFTER_HEAD,
        /** The client left while it ran. */
        CANCELLED,
        /** The exchange was answered otherwise while it ran (a filter's answer, a timeout): its answer, if any, was not used. */
        ABANDONED
    }

    /** 1 for the first attempt. */
    int number();

    Deployment deployment();

    Outcome outcome();

    /** The upstream's status when it answered (also for a refused 429 or 5xx), else 0. */
    int upstreamStatus();

    /** The error code of a failed attempt (e.g. {@code upstream_timeout}, {@code upstream_status_503}); null otherwise. */
    String error();

    /** The upstream's {@code Retry-After} in milliseconds when it sent one, else -1. */
    long retryAfterMillis();

    /** When the provider got the attempt. */
    long startedNanos();

    /** When the request was written to the upstream; 0 for in-process providers and failed connects. */
    long sentNanos();

    /** When the first byte of the upstream's answer arrived; 0 when none did. */
    long firstByteNanos();

    /** When the attempt ended; 0 while it runs. */
    long endedNanos();
}
