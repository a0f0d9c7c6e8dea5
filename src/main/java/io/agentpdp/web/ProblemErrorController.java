package io.agentpdp.web;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;

import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The API server's error page, in place of Boot's JSON one: whatever fails outside the controllers (an
 * exception from a filter, a servlet-level error) is answered as a problem like every other error, naming
 * the path that failed, never the exception. Requested directly, {@code /error} is not a resource.
 */
@RestController
@RequestMapping("${server.error.path:/error}")
class ProblemErrorController implements ErrorController {

    private final Problems problems;

    ProblemErrorController(Problems problems) {
        this.problems = problems;
    }

    @RequestMapping
    ResponseEntity<ProblemDetail> error(HttpServletRequest request) {
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        Object failedPath = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
        String path = failedPath instanceof String uri ? uri : request.getRequestURI();
        HttpStatus status = code instanceof Integer value ? HttpStatus.resolve(value) : null;
        ProblemDetail problem;
        if (status == null || !status.isError()) {
            problem = problems.problem(path, 404, "Not found", "No such resource.");
        } else if (status.is5xxServerError()) {
            problem = problems.problem(path, status.value(), status.value() == 500 ? "Internal error" : status.getReasonPhrase(),
                    "The request failed; nothing was allowed.");
        } else {
            problem = problems.problem(path, status.value(), status.getReasonPhrase(), "The request was refused.");
        }
        return ResponseEntity.status(problem.getStatus()).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(problem);
    }
}
