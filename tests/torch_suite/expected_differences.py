"""Which of torch's scheduler tests fail with lrhub swapped in, and why: each reason is a
difference listed in docs/client.md ("Fidelity with torch's schedulers"). The marks are strict, so
a test that starts to pass fails the run until it is taken off this list."""

from __future__ import annotations

SECOND_SCHEDULER = (
    "a second lrhub scheduler on one optimizer is refused; compose schedules in one spec "
    "(ChainedScheduler, SequentialLR)"
)
STEP_NUMBER = (
    "step(number) is refused on a run that is not metric-driven (use load_state_dict() or "
    "run.resume(step) to move elsewhere)"
)
CALLABLES = "lr_lambda and scale_fn are expression strings in lrhub, not Python callables"
LAST_EPOCH = "attach has no last_epoch argument; resume with load_state_dict() or run.resume(step)"
NESTED = "an lrhub scheduler cannot be nested in torch's ChainedScheduler or SequentialLR"
MOMENTUM_ZERO = (
    "cycling momentum on SGD(momentum=0) is refused (MomentumNotSupportedError) rather than "
    "silently turning momentum on"
)
ATTRIBUTES = (
    "the scheduler has none of torch's per-class attributes (T_0, T_cur, min_lrs, "
    "_scale_fn_ref...): the spec lives on the server"
)
ADD_PARAM_GROUP = (
    "optimizer.add_param_group() after attach makes the next step raise SchedulerUsageError "
    "(a ValueError), not torch's RuntimeError or a silently unscheduled group"
)
NOT_A_STRING = (
    "a spec field of the wrong type is a BadRequestError (a ValueError) from the server, not "
    "a TypeError"
)

EXPECTED: dict[str, str] = {
    "test_CosineAnnealingWarmRestarts_lr_state_dict": SECOND_SCHEDULER,
    "test_chained_lr2_get_last_lr_before_step": SECOND_SCHEDULER,
    "test_chained_lr3": SECOND_SCHEDULER,
    "test_chained_lr4": SECOND_SCHEDULER,
    "test_chained_lr5": SECOND_SCHEDULER,
    "test_closed_form_constantlr": SECOND_SCHEDULER,
    "test_closed_form_cos_anneal_lr": SECOND_SCHEDULER,
    "test_closed_form_exp_lr": SECOND_SCHEDULER,
    "test_closed_form_linearlr": SECOND_SCHEDULER,
    "test_closed_form_multi_step_lr": SECOND_SCHEDULER,
    "test_closed_form_poly_lr": SECOND_SCHEDULER,
    "test_closed_form_step_lr": SECOND_SCHEDULER,
    "test_compound_cosanneal_and_exp_lr": SECOND_SCHEDULER,
    "test_compound_cosanneal_and_linearlr": SECOND_SCHEDULER,
    "test_compound_cosanneal_and_multistep_lr": SECOND_SCHEDULER,
    "test_compound_cosanneal_and_step_lr": SECOND_SCHEDULER,
    "test_compound_exp_and_linearlr": SECOND_SCHEDULER,
    "test_compound_exp_and_multistep_lr": SECOND_SCHEDULER,
    "test_compound_linearlr_and_multistep_lr": SECOND_SCHEDULER,
    "test_compound_reduce_lr_on_plateau1": SECOND_SCHEDULER,
    "test_compound_reduce_lr_on_plateau2": SECOND_SCHEDULER,
    "test_compound_reduce_lr_on_plateau3": SECOND_SCHEDULER,
    "test_compound_reduce_lr_on_plateau4": SECOND_SCHEDULER,
    "test_compound_reduce_lr_on_plateau5": SECOND_SCHEDULER,
    "test_compound_step_and_constantlr": SECOND_SCHEDULER,
    "test_compound_step_and_exp_lr": SECOND_SCHEDULER,
    "test_compound_step_and_multistep_lr": SECOND_SCHEDULER,
    "test_cosine_lr_state_dict": SECOND_SCHEDULER,
    "test_cosine_then_cyclic": SECOND_SCHEDULER,
    "test_cycle_lr_scale_fn_restored_from_state_dict": SECOND_SCHEDULER,
    "test_exp_step_lr_state_dict": SECOND_SCHEDULER,
    "test_get_last_lr_sequentiallr": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass10_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass10_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass11_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass11_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass14_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass14_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass2_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass2_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass3_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass3_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass4_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass4_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass5_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass5_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass6_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass6_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass7_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass7_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass8_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass8_weights_only_True": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass9_weights_only_False": SECOND_SCHEDULER,
    "test_lr_scheduler_state_dict_load_LRClass9_weights_only_True": SECOND_SCHEDULER,
    "test_multi_step_lr_state_dict": SECOND_SCHEDULER,
    "test_reduce_lr_on_plateau_state_dict": SECOND_SCHEDULER,
    "test_sequentiallr1": SECOND_SCHEDULER,
    "test_sequentiallr2": SECOND_SCHEDULER,
    "test_sequentiallr3": SECOND_SCHEDULER,
    "test_sequentiallr4": SECOND_SCHEDULER,
    "test_sequentiallr5": SECOND_SCHEDULER,
    "test_sequentiallr_does_not_alias_lr_and_initial_lr": SECOND_SCHEDULER,
    "test_sequentiallr_no_warnings": SECOND_SCHEDULER,
    "test_step_lr_state_dict": SECOND_SCHEDULER,
    "test_CosineAnnealingWarmRestarts_lr2": STEP_NUMBER,
    "test_CosineAnnealingWarmRestarts_lr3": STEP_NUMBER,
    "test_constant_initial_lr_LRClass2": STEP_NUMBER,
    "test_constant_initial_lr_LRClass3": STEP_NUMBER,
    "test_constant_initial_lr_LRClass4": STEP_NUMBER,
    "test_constant_initial_lr_LRClass5": STEP_NUMBER,
    "test_constant_initial_lr_LRClass6": STEP_NUMBER,
    "test_constant_initial_lr_LRClass7": STEP_NUMBER,
    "test_constant_initial_lr_LRClass8": STEP_NUMBER,
    "test_constant_initial_lr_LRClass9": STEP_NUMBER,
    "test_constantlr_is_constant_for_constant_epoch": STEP_NUMBER,
    "test_constantlr_with_epoch": STEP_NUMBER,
    "test_exponential_lr_is_constant_for_constant_epoch": STEP_NUMBER,
    "test_linear_linearlr_is_constant_for_constant_epoch": STEP_NUMBER,
    "test_linearlr_with_epoch": STEP_NUMBER,
    "test_multi_step_lr_with_epoch": STEP_NUMBER,
    "test_polynomial_lr_is_constant_for_constant_epoch": STEP_NUMBER,
    "test_step_lr_is_constant_for_constant_epoch": STEP_NUMBER,
    "test_constant_initial_lr_LRClass0": CALLABLES,
    "test_constant_initial_lr_LRClass1": CALLABLES,
    "test_lambda_lr": CALLABLES,
    "test_lambda_lr_state_dict_fn": CALLABLES,
    "test_lambda_lr_state_dict_obj": CALLABLES,
    "test_lr_scheduler_checkpoint_LRClass1": CALLABLES,
    "test_lr_scheduler_checkpoint_LRClass2": CALLABLES,
    "test_lr_scheduler_state_dict_load_LRClass0_weights_only_False": CALLABLES,
    "test_lr_scheduler_state_dict_load_LRClass0_weights_only_True": CALLABLES,
    "test_lr_scheduler_state_dict_load_LRClass1_weights_only_False": CALLABLES,
    "test_lr_scheduler_state_dict_load_LRClass1_weights_only_True": CALLABLES,
    "test_multiplicative_lr": CALLABLES,
    "test_no_cyclic_references": CALLABLES,
    "test_no_cyclic_references_in_step": CALLABLES,
    "test_swalr_cosine_anneal_after_multiplicative": CALLABLES,
    "test_swalr_linear_anneal_after_multiplicative": CALLABLES,
    "test_cos_anneal_lr_continue": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass0": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass10": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass11": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass3": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass4": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass5": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass6": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass7": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass8": LAST_EPOCH,
    "test_lr_scheduler_checkpoint_LRClass9": LAST_EPOCH,
    "test_old_pattern_warning_resuming": LAST_EPOCH,
    "test_old_pattern_warning_resuming_with_arg": LAST_EPOCH,
    "test_old_pattern_warning_with_overridden_optim_step": LAST_EPOCH,
    "test_raise_error_when_last_epoch_is_greater_than_0_and_initial_lr_is_not_specified": (
        LAST_EPOCH
    ),
    "test_chained_lr1": NESTED,
    "test_chained_lr2": NESTED,
    "test_constant_initial_params_cyclelr": MOMENTUM_ZERO,
    "test_constant_initial_params_onecyclelr": MOMENTUM_ZERO,
    "test_cycle_lr_exp_range_mode": MOMENTUM_ZERO,
    "test_cycle_lr_exp_range_mode_one_lr": MOMENTUM_ZERO,
    "test_cycle_lr_exp_range_mode_step_size_up_down": MOMENTUM_ZERO,
    "test_cycle_lr_triangular2_mode": MOMENTUM_ZERO,
    "test_cycle_lr_triangular2_mode_one_lr": MOMENTUM_ZERO,
    "test_cycle_lr_triangular2_mode_step_size_up_down": MOMENTUM_ZERO,
    "test_cycle_lr_triangular_mode": MOMENTUM_ZERO,
    "test_cycle_lr_triangular_mode_one_lr": MOMENTUM_ZERO,
    "test_cycle_lr_triangular_mode_step_size_up_down": MOMENTUM_ZERO,
    "test_lr_scheduler_state_dict_load_LRClass12_weights_only_False": MOMENTUM_ZERO,
    "test_lr_scheduler_state_dict_load_LRClass12_weights_only_True": MOMENTUM_ZERO,
    "test_lr_scheduler_state_dict_load_LRClass13_weights_only_False": MOMENTUM_ZERO,
    "test_lr_scheduler_state_dict_load_LRClass13_weights_only_True": MOMENTUM_ZERO,
    "test_onecycle_lr_cosine_annealing": MOMENTUM_ZERO,
    "test_onecycle_lr_legacy_state_dict": MOMENTUM_ZERO,
    "test_onecycle_lr_linear_annealing": MOMENTUM_ZERO,
    "test_onecycle_lr_linear_annealing_three_phases": MOMENTUM_ZERO,
    "test_CosineAnnealingWarmRestarts_T_cur_reset": ATTRIBUTES,
    "test_add_param_group_does_not_break_reduce_lr_on_plateau_min_lr_list": ATTRIBUTES,
    "test_cycle_lr_state_dict_picklable": ATTRIBUTES,
    "test_add_param_group_does_not_break_reduce_lr_on_plateau_min_lr_scalar": ADD_PARAM_GROUP,
    "test_add_param_group_errors_reduce_lr_on_plateau": ADD_PARAM_GROUP,
    "test_multiplicative_lr_with_lr_lambda": NOT_A_STRING,
}

# Tests that run only torch's code (its LRScheduler base class, or SWALR from
# torch.optim.swa_utils, which is not an lrhub schedule type): they would pass without lrhub.
TORCH_ONLY = "runs only torch's own classes (no lrhub schedule type is involved)"
NOT_LRHUB: dict[str, str] = {
    "test_error_when_getlr_has_epoch": TORCH_ONLY,
    "test_swalr_no_anneal": TORCH_ONLY,
    "test_swalr_hypers": TORCH_ONLY,
    "test_swa_lr_state_dict": TORCH_ONLY,
    "test_constant_initial_params_swalr": TORCH_ONLY,
    "test_lr_scheduler_state_dict_load_LRClass15_weights_only_False": TORCH_ONLY,
    "test_lr_scheduler_state_dict_load_LRClass15_weights_only_True": TORCH_ONLY,
    "test_lr_scheduler_checkpoint_LRClass12": TORCH_ONLY,
}
