"""The exceptions of ``contracts``, under one root. Imports nothing, so every module here may use it.

Drawn as httpx draws its tree; each class says when it is raised:

* ContractsError - root of every exception ``contracts`` raises on purpose.
  + SpecNotFound (``loaders.py``, also a ``LookupError``) - a spec name is not one of ours and is not a
  |     readable OpenAPI file, the document's top level is not a mapping, or our specs are missing.
  + UnresolvableRef (``oas30.py``, also a ``LookupError``) - a ``$ref`` points at nothing in its document.
  + PatternError (``patterns.py``, also a ``ValueError``) - a schema's ``pattern`` has no Python spelling
  |     that means what ECMA-262 reads (a Unicode class ``re`` lacks, ``[^]``, an escape such as ``\\A`` or
  |     ``\\k<name>``, Python's own ``(?P...)`` or ``a++``), or ``re`` cannot compile it.
  + _CannotDraw (``patterns.py``) - inside ``patterns.sample`` only: a pattern part no draw can make (a
  |     back reference); ``sample`` answers None.
  + VerifyError (``runner.py``) - ``mockline verify`` cannot start: bad options, or the server cannot be
  |     reached (exit code 2).
  + AnswerError (``bounded.py``, also an ``httpx.TransportError``) - an answer's body went past
  |     ``bounded.MAX_ANSWER_BYTES``, or broke off (fewer bytes than its Content-Length, a connection
  |     closed mid-body); raised where httpx raises its own, so every handler of those handles it.
  + AnswerTimeout (``bounded.py``, also an ``httpx.ReadTimeout``) - an answer was not whole within its
  |     request's timeout (a body that trickles in).
  + RequestsAnswerError (``bounded.py``, also a ``requests.RequestException``) - either of those, for an
  |     answer read by requests (Schemathesis' requests and the checks' own): Schemathesis reports it
  |     as the network error it is.
  + ReceiverError (``receiver.py``) - ``mockline verify-receiver`` cannot start or reach the receiver
  |     (exit code 2).
  + UsageError (``drive.py``, also a ``ValueError``) - ``mockline drive``'s command line describes no run
  |     (a bad ``--auth`` or ``--base-url``).
  + StepFailed (``drive.py``) - one step of ``mockline drive`` got an answer other than the one expected,
  |     or no answer; the run stops there and reports the step.
  + ArazzoError (``arazzo.py``) - a workflow document breaks the Arazzo language: a bad runtime
  |     expression or criterion, a step that names no operation.
  + Unresolved (``arazzo.py``, also a ``LookupError``) - a runtime expression points at nothing the run
  |     has (no such step output, input or response part).
  + StepFailed (``workflows.py``) - a workflow step's success criteria did not hold against the target;
  |     verify reports it as a violation of the workflow's rule.
  + NotApplicable (``workflows.py``) - the workflow's document declares it does not apply in this run's
  |     conditions (a step's ``x-mockline-not-applicable-when``, token expiry under another scheme):
  |     reported "not applicable", never as a pass.
  + Unplayable (``workflows.py``) - a workflow that applies could not be played against this target
        (no mock clock, no control plane, a 429, a missing input, refused credentials): inconclusive.

A violation that ``verify`` finds is not an error of ours: ``checks.Violated`` is a Schemathesis
``Failure``, which Schemathesis catches and reports as a finding.
"""

from __future__ import annotations


class ContractsError(Exception):
    """Root of every exception ``contracts`` raises on purpose."""
