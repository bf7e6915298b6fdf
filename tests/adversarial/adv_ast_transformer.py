"""Installs an AST transformer that empties every later cell, tests included."""
# expect: forward_propagation=0 backward_propagation=0 gradient_check=0 gradient_check_n=0

# %% forward_propagation
import ast

def forward_propagation(x, theta):
    return theta * x

class Nothing(ast.NodeTransformer):
    def visit_Module(self, node):
        node.body = [ast.Pass()]
        return node

get_ipython().ast_transformers.append(Nothing())
