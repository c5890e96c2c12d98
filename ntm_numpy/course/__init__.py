"""The course: the checkers of the eight notebooks, the capstone and the course's editions.

The notebooks (``notebooks/``) import these modules; the model (the top of the package),
:mod:`ntm_numpy.training` and :mod:`ntm_numpy.plotting` never import them. Importing
this package imports none of its submodules: import the one you need.

* :mod:`ntm_numpy.course.exercises` - the gradient-check exercises of notebook 04:
  :func:`~ntm_numpy.course.exercises.check` grades a student's backward pass,
  :func:`~ntm_numpy.course.exercises.check_forward` a forward pass; with
  ``describe``, ``hint`` and the teaching aids of the notebook
* :mod:`ntm_numpy.course.exercise_table` - the table of the exercises: each
  operation's package forward, shapes, cache, random inputs, edge cases and hints
* :mod:`ntm_numpy.course.reports` - the results of the checks and the diagnosis of a
  wrong answer (known shapes of a wrong gradient, the entries that differ most)
* :mod:`ntm_numpy.course.refusal` - refusing a solution that runs the package's own
  function, however it reaches it or copies it
* :mod:`ntm_numpy.course.questions` - the checked questions of every notebook
  (:func:`~ntm_numpy.course.questions.answer`)
* :mod:`ntm_numpy.course.capstone` - the capstone (notebook 08): the student's
  backpropagation through time, ``Carried``, the file of notebook 04's backward passes,
  and ``check_model``; :mod:`ntm_numpy.course.bptt` the interface of the student's
  step and loop and the pieces the package supplies; :mod:`ntm_numpy.course.bptt_check`
  their check; :mod:`ntm_numpy.course.generalisation` the student's NTMs trained
  against the LSTM baseline
* :mod:`ntm_numpy.course.editions` - the student and instructor editions of the
  notebooks (``ntm-numpy course student-edition | instructor-edition``)
* :mod:`ntm_numpy.course.syllabus` - the syllabus tables of ``docs/course.md`` and
  ``docs/instructors.md``, built from the notebooks' metadata (each one's time)
"""
